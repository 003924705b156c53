// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errinfo.h"
#include "vireo.h"
#include "vm_config.h"

#define VM_CONFIG_FILE_MAX	(1 << 20)

static const char *const vm_config_keys[] = {
	"name", "memory_mib", "vcpus", "image", "entry", "load_address",
	"kernel", "initrd", "cmdline", "on_reboot", NULL,
};

const char *vm_on_reboot_name(enum vm_on_reboot action)
{
	return action == VM_ON_REBOOT_STOP ? "stop" : "restart";
}

const char *vm_entry_name(enum vm_entry entry)
{
	switch (entry) {
	case VM_ENTRY_REAL:	return "real";
	case VM_ENTRY_LONG:	return "long";
	case VM_ENTRY_LINUX:	return "linux";
	}
	return "unknown";
}

uint64_t vm_config_ram_bytes(const struct vm_config *cfg)
{
	return cfg->memory_mib << 20;
}

/* Names appear in logs, file names and command lines: keep them tame. */
int vm_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (!len || len > VM_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '-' && c != '_' && c != '.')))
			return 0;
	}
	return 1;
}

static int config_uint(const json_t *obj, const char *key, uint64_t min, uint64_t max,
		       uint64_t *out, struct errinfo *e)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v)
		return 0;	/* keep the default */
	if (!json_is_integer(v)) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "'%s' must be an integer", key);
		return -EINVAL;
	}
	n = json_integer_value(v);
	if (n < 0 || (uint64_t)n < min || (uint64_t)n > max) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'%s' is %" JSON_INTEGER_FORMAT ", must be in [%" PRIu64 ", %" PRIu64 "]",
			    key, n, min, max);
		return -EINVAL;
	}
	*out = (uint64_t)n;
	return 0;
}

/* load_address: a JSON integer, or a string such as "0x10000". */
static int config_address(const json_t *obj, uint64_t *out, int *given, struct errinfo *e)
{
	const json_t *v = json_object_get(obj, "load_address");
	const char *s, *p;
	char *end;

	*given = v != NULL;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		for (p = s; *p; p++)
			if (*p == '-' || *p == ' ' || *p == '+')
				break;
		errno = 0;
		*out = strtoull(s, &end, 0);
		if (!*p && *s && !*end && !errno)
			return 0;
	}
	errinfo_set(e, ERR_INVALID_PARAMETER,
		    "'load_address' must be a non-negative integer or a string like \"0x10000\"");
	return -EINVAL;
}

static int config_string(const json_t *obj, const char *key, int required,
			 const char **out, struct errinfo *e)
{
	const json_t *v = json_object_get(obj, key);

	if (!v) {
		if (required) {
			errinfo_set(e, ERR_INVALID_PARAMETER, "'%s' is required", key);
			return -EINVAL;
		}
		return 0;
	}
	if (!json_is_string(v)) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "'%s' must be a string", key);
		return -EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

static int config_check_keys(const json_t *obj, struct errinfo *e)
{
	const char *key;
	const json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		size_t i;

		for (i = 0; vm_config_keys[i]; i++)
			if (!strcmp(key, vm_config_keys[i]))
				break;
		if (!vm_config_keys[i]) {
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "unknown VM config key '%.64s' (known: name, memory_mib, vcpus, image, entry, load_address, kernel, initrd, cmdline, on_reboot)",
				    key);
			return -EINVAL;
		}
	}
	return 0;
}

static int config_check_layout(const struct vm_config *cfg, int address_given,
			       struct errinfo *e)
{
	uint64_t ram = vm_config_ram_bytes(cfg);

	if (cfg->entry == VM_ENTRY_REAL) {
		if (cfg->load_address % 16) {
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "real-mode load_address 0x%" PRIx64 " must be a multiple of 16 (it becomes CS = load_address >> 4)",
				    cfg->load_address);
			return -EINVAL;
		}
		if (cfg->load_address >= VM_REAL_LOAD_LIMIT) {
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "real-mode load_address 0x%" PRIx64 " must be below 0x100000 (1 MiB)",
				    cfg->load_address);
			return -EINVAL;
		}
		if (cfg->load_address + 0x10000 > ram) {
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "real-mode code segment 0x%" PRIx64 "-0x%" PRIx64 " does not fit in %" PRIu64 " MiB of RAM",
				    cfg->load_address, cfg->load_address + 0xffff, cfg->memory_mib);
			return -EINVAL;
		}
		return 0;
	}
	if (cfg->load_address < VM_LONG_LOAD_MIN || cfg->load_address % 16) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "long-mode load_address 0x%" PRIx64 " must be a multiple of 16 and at least 0x100000 (the first MiB holds the page tables and GDT)",
			    cfg->load_address);
		return -EINVAL;
	}
	if (cfg->load_address >= ram) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "load_address 0x%" PRIx64 " is beyond the end of RAM (%" PRIu64 " MiB)%s",
			    cfg->load_address, cfg->memory_mib,
			    address_given ? "" : "; raise memory_mib");
		return -EINVAL;
	}
	return 0;
}

/* A path value: non-empty and short enough to keep. */
static int config_path(const char *key, const char *value, char *out, size_t size,
		       struct errinfo *e)
{
	if (!*value || strlen(value) >= size) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "'%s' must be a non-empty path shorter than %zu bytes",
			    key, size);
		return -EINVAL;
	}
	strcpy(out, value);
	return 0;
}

/* The kernel command line: printable, and short enough for any kernel. */
static int config_cmdline(const char *value, char *out, struct errinfo *e)
{
	size_t len = strlen(value);

	if (len > VM_CMDLINE_MAX) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "'cmdline' is %zu bytes, at most %d are allowed",
			    len, VM_CMDLINE_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f) {
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "'cmdline' has a control character (0x%02x) at byte %zu",
				    (unsigned char)value[i], i);
			return -EINVAL;
		}
	}
	strcpy(out, value);
	return 0;
}

/* A Linux guest: "kernel", optional "initrd" and "cmdline", no flat-image keys. */
static int config_linux(const json_t *obj, const char *kernel, const char *entry,
			struct vm_config *cfg, struct errinfo *e)
{
	const char *initrd = NULL, *cmdline = NULL;

	if (entry && strcmp(entry, "linux")) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'entry' is '%.32s', but a 'kernel' config always uses the \"linux\" entry",
			    entry);
		return -EINVAL;
	}
	if (json_object_get(obj, "load_address")) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'load_address' does not apply to a Linux 'kernel': its setup header says where it loads");
		return -EINVAL;
	}
	if (config_string(obj, "initrd", 0, &initrd, e) ||
	    config_string(obj, "cmdline", 0, &cmdline, e) ||
	    config_path("kernel", kernel, cfg->kernel, sizeof(cfg->kernel), e) ||
	    (initrd && config_path("initrd", initrd, cfg->initrd, sizeof(cfg->initrd), e)) ||
	    (cmdline && config_cmdline(cmdline, cfg->cmdline, e)))
		return -EINVAL;
	cfg->entry = VM_ENTRY_LINUX;
	cfg->memory_mib = VM_LINUX_DEFAULT_MEMORY_MIB;
	return 0;
}

/* A flat binary: "image", optional "entry" and "load_address". */
static int config_flat_image(const json_t *obj, const char *image, const char *entry,
			     struct vm_config *cfg, int *address_given, struct errinfo *e)
{
	for (const char *const *key = (const char *const[]){ "initrd", "cmdline", NULL }; *key; key++) {
		if (json_object_get(obj, *key)) {
			errinfo_set(e, ERR_INVALID_PARAMETER,
				    "'%s' applies to a Linux 'kernel' only, not to a flat 'image'", *key);
			return -EINVAL;
		}
	}
	if (config_path("image", image, cfg->image, sizeof(cfg->image), e))
		return -EINVAL;
	if (!entry || !strcmp(entry, "real")) {
		cfg->entry = VM_ENTRY_REAL;
		cfg->load_address = VM_REAL_DEFAULT_LOAD;
	} else if (!strcmp(entry, "long")) {
		cfg->entry = VM_ENTRY_LONG;
		cfg->load_address = VM_LONG_DEFAULT_LOAD;
	} else {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'entry' is '%.32s', must be \"real\" or \"long\" for an 'image' (\"linux\" goes with 'kernel')",
			    entry);
		return -EINVAL;
	}
	cfg->memory_mib = VM_DEFAULT_MEMORY_MIB;
	return config_address(obj, &cfg->load_address, address_given, e);
}

int vm_config_from_json(const json_t *obj, struct vm_config *cfg, struct errinfo *e)
{
	const char *name = NULL, *image = NULL, *kernel = NULL, *entry = NULL;
	const char *on_reboot = NULL;
	uint64_t vcpus = 1;
	int address_given = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (!json_is_object(obj)) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "a VM config must be a JSON object");
		return -EINVAL;
	}
	if (config_check_keys(obj, e) ||
	    config_string(obj, "name", 1, &name, e) ||
	    config_string(obj, "image", 0, &image, e) ||
	    config_string(obj, "kernel", 0, &kernel, e) ||
	    config_string(obj, "entry", 0, &entry, e) ||
	    config_string(obj, "on_reboot", 0, &on_reboot, e))
		return -EINVAL;
	if (on_reboot && strcmp(on_reboot, "restart") && strcmp(on_reboot, "stop")) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'on_reboot' must be \"restart\" or \"stop\", not '%.32s'", on_reboot);
		return -EINVAL;
	}
	if (on_reboot && !strcmp(on_reboot, "stop"))
		cfg->on_reboot = VM_ON_REBOOT_STOP;
	if (!vm_name_valid(name)) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "invalid VM name '%.80s': 1-%d characters, letters, digits, '-', '_', '.', starting with a letter or digit",
			    name, VM_NAME_MAX);
		return -EINVAL;
	}
	strcpy(cfg->name, name);
	if (image && kernel) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'image' and 'kernel' are mutually exclusive: 'image' is a flat binary, 'kernel' a Linux bzImage");
		return -EINVAL;
	}
	if (!image && !kernel) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "'image' is required (or 'kernel' for a Linux guest)");
		return -EINVAL;
	}
	if (kernel ? config_linux(obj, kernel, entry, cfg, e) :
		     config_flat_image(obj, image, entry, cfg, &address_given, e))
		return -EINVAL;
	if (config_uint(obj, "memory_mib", 1, VM_MAX_MEMORY_MIB, &cfg->memory_mib, e) ||
	    config_uint(obj, "vcpus", 1, VIREO_MAX_VCPUS, &vcpus, e))
		return -EINVAL;
	cfg->vcpus = (unsigned int)vcpus;
	if (cfg->entry == VM_ENTRY_LINUX)
		return 0;	/* the kernel's header decides the rest at load time */
	return config_check_layout(cfg, address_given, e);
}

json_t *vm_config_to_json(const struct vm_config *cfg)
{
	json_t *obj;

	if (cfg->entry != VM_ENTRY_LINUX)
		obj = json_pack("{s:s, s:I, s:i, s:s, s:s, s:I}",
				"name", cfg->name,
				"memory_mib", (json_int_t)cfg->memory_mib,
				"vcpus", (int)cfg->vcpus,
				"image", cfg->image,
				"entry", vm_entry_name(cfg->entry),
				"load_address", (json_int_t)cfg->load_address);
	else
		obj = json_pack("{s:s, s:I, s:i, s:s, s:s, s:s}",
				"name", cfg->name,
				"memory_mib", (json_int_t)cfg->memory_mib,
				"vcpus", (int)cfg->vcpus,
				"kernel", cfg->kernel,
				"entry", vm_entry_name(cfg->entry),
				"cmdline", cfg->cmdline);
	if (obj && cfg->entry == VM_ENTRY_LINUX && cfg->initrd[0])
		json_object_set_new(obj, "initrd", json_string(cfg->initrd));
	if (obj)
		json_object_set_new(obj, "on_reboot",
				    json_string(vm_on_reboot_name(cfg->on_reboot)));
	return obj;
}

/* Reads a whole config file, refusing anything but a modest regular file. */
static json_t *config_read_file(const char *path, struct errinfo *e)
{
	json_t *root = NULL;
	json_error_t jerr;
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > VM_CONFIG_FILE_MAX) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "%s: not a regular file of at most %d bytes", path, VM_CONFIG_FILE_MAX);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		errinfo_set(e, ERR_GENERIC, "%s: out of memory", path);
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	root = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		errinfo_set(e, ERR_INVALID_PARAMETER, "%s:%d:%d: %s", path,
			    jerr.line, jerr.column, jerr.text);
	free(buf);
	return root;
}

int vm_config_load_file(const char *path, struct vm_config **cfgs, size_t *nr,
			struct errinfo *e)
{
	struct vm_config *out = NULL;
	const json_t *list;
	json_t *root;
	size_t i, j, count;
	struct errinfo item;

	root = config_read_file(path, e);
	if (!root)
		return -EINVAL;
	list = json_object_get(root, "vms");
	if (list && json_object_size(root) != 1) {
		errinfo_set(e, ERR_INVALID_PARAMETER,
			    "%s: a file with \"vms\" must have no other top-level key", path);
		goto fail;
	}
	if (list && (!json_is_array(list) || !json_array_size(list))) {
		errinfo_set(e, ERR_INVALID_PARAMETER, "%s: \"vms\" must be a non-empty array", path);
		goto fail;
	}
	count = list ? json_array_size(list) : 1;
	out = calloc(count, sizeof(*out));
	if (!out) {
		errinfo_set(e, ERR_GENERIC, "%s: out of memory", path);
		goto fail;
	}
	for (i = 0; i < count; i++) {
		const json_t *obj = list ? json_array_get(list, i) : root;

		if (vm_config_from_json(obj, &out[i], &item)) {
			if (list)
				errinfo_set(e, item.class, "%s: vms[%zu]: %s", path, i, item.desc);
			else
				errinfo_set(e, item.class, "%s: %s", path, item.desc);
			goto fail;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(out[j].name, out[i].name)) {
				errinfo_set(e, ERR_INVALID_PARAMETER,
					    "%s: VM name '%s' is defined twice", path, out[i].name);
				goto fail;
			}
		}
	}
	json_decref(root);
	*cfgs = out;
	*nr = count;
	return 0;
fail:
	free(out);
	json_decref(root);
	return -EINVAL;
}
