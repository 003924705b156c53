// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "errinfo.h"
#include "module.h"
#include "vireo.h"

int module_open(struct module_handle *m, const char *path, struct errinfo *e)
{
	int version, size, err;

	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		err = errno;
		errinfo_set(e, ERR_MODULE_UNAVAILABLE, "cannot open %s: %s%s", path,
			    strerror(err), err == ENOENT ? " (is vireo.ko loaded?)" : "");
		return -err;
	}
	version = ioctl(m->fd, VIREO_GET_API_VERSION, 0);
	if (version < 0) {
		err = errno;
		errinfo_set(e, ERR_MODULE_UNAVAILABLE, "VIREO_GET_API_VERSION on %s: %s",
			    path, strerror(err));
		goto close_fd;
	}
	if (version != VIREO_API_VERSION) {
		err = EPROTO;
		errinfo_set(e, ERR_MODULE_UNAVAILABLE,
			    "module API version %d, vireod speaks version %d",
			    version, VIREO_API_VERSION);
		goto close_fd;
	}
	size = ioctl(m->fd, VIREO_GET_RUN_SIZE, 0);
	if (size < 0) {
		err = errno;
		errinfo_set(e, ERR_MODULE_UNAVAILABLE, "VIREO_GET_RUN_SIZE: %s",
			    strerror(err));
		goto close_fd;
	}
	if ((size_t)size < sizeof(struct vireo_run)) {
		err = EPROTO;
		errinfo_set(e, ERR_MODULE_UNAVAILABLE,
			    "module exit record is %d bytes, smaller than struct vireo_run (%zu)",
			    size, sizeof(struct vireo_run));
		goto close_fd;
	}
	m->api_version = version;
	m->run_size = (size_t)size;
	return 0;

close_fd:
	close(m->fd);
	m->fd = -1;
	return -err;
}

void module_close(struct module_handle *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}
