/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Device models.  Each device lives in one file that ends with
 *
 *	static const struct device_model foo_model = { ... };
 *	DEVICE_MODEL_REGISTER(foo_model);
 *
 * which puts it in the "device_models" linker set: adding a device means
 * adding a file and one Makefile word, never editing a central list.
 *
 * For now every registered model is instantiated in every VM (the legacy
 * COM1 UART is the only device).  When the VM config grows a device list,
 * device_create_all() is the one place that changes.
 */
#ifndef VIREOD_DEVICE_H
#define VIREOD_DEVICE_H

#include <stddef.h>

#include "dev_state.h"
#include "linker_set.h"

struct vm;
struct errinfo;

struct device_model {
	const char *name;
	/* Builds the device for 'vm', registers its bus ranges; 0 or -errno. */
	int (*create)(struct vm *vm, void **opaque);
	void (*destroy)(void *opaque);
	/* Optional.  The vCPUs are not running between pause and resume. */
	void (*pause)(void *opaque);
	void (*resume)(void *opaque);
	/* Save or load the device state, see dev_state.h; 0 or -errno. */
	int (*sync_state)(void *opaque, struct dev_state *st);
};

struct device_instance {
	const struct device_model *model;
	void *opaque;
};

#define DEVICE_MODEL_REGISTER(model) LINKER_SET_ADD(device_models, model)

int device_create_all(struct vm *vm, struct errinfo *e);
void device_destroy_all(struct vm *vm);
void device_pause_all(struct vm *vm);
void device_resume_all(struct vm *vm);
/* Syncs every device in a fixed order (the linker-set order). */
int device_sync_all(struct vm *vm, struct dev_state *st);
const struct device_model *device_model_find(const char *name);

#endif
