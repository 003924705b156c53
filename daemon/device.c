// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device.h"
#include "errinfo.h"
#include "vm.h"

LINKER_SET_DECLARE(device_models);

const struct device_model *device_model_find(const char *name)
{
	const void *const *it;

	LINKER_SET_FOREACH(device_models, it) {
		const struct device_model *model = *it;

		if (!strcmp(model->name, name))
			return model;
	}
	return NULL;
}

int device_create_all(struct vm *vm, struct errinfo *e)
{
	const void *const *it;
	size_t count = 0;

	LINKER_SET_FOREACH(device_models, it)
		count++;
	vm->devices = calloc(count ? count : 1, sizeof(*vm->devices));
	if (!vm->devices) {
		errinfo_set(e, ERR_GENERIC, "out of memory creating devices");
		return -ENOMEM;
	}
	LINKER_SET_FOREACH(device_models, it) {
		const struct device_model *model = *it;
		struct device_instance *dev = &vm->devices[vm->nr_devices];
		int ret = model->create(vm, &dev->opaque);

		if (ret) {
			errinfo_set(e, ERR_GENERIC, "device %s: %s",
				    model->name, strerror(-ret));
			device_destroy_all(vm);
			return ret;
		}
		dev->model = model;
		vm->nr_devices++;
	}
	return 0;
}

void device_destroy_all(struct vm *vm)
{
	while (vm->nr_devices) {
		struct device_instance *dev = &vm->devices[--vm->nr_devices];

		dev->model->destroy(dev->opaque);
	}
	free(vm->devices);
	vm->devices = NULL;
}

void device_pause_all(struct vm *vm)
{
	for (size_t i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].model->pause)
			vm->devices[i].model->pause(vm->devices[i].opaque);
}

void device_resume_all(struct vm *vm)
{
	for (size_t i = 0; i < vm->nr_devices; i++)
		if (vm->devices[i].model->resume)
			vm->devices[i].model->resume(vm->devices[i].opaque);
}

int device_sync_all(struct vm *vm, struct dev_state *st)
{
	for (size_t i = 0; i < vm->nr_devices; i++) {
		const struct device_model *model = vm->devices[i].model;
		int ret;

		if (!model->sync_state)
			continue;
		ret = model->sync_state(vm->devices[i].opaque, st);
		if (ret)
			return ret;
	}
	return st->error;
}
