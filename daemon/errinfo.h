/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error reports that travel from the VM layer up to the management socket:
 * a class (the QMP-style "class" of an error object) and a description.
 */
#ifndef VIREOD_ERRINFO_H
#define VIREOD_ERRINFO_H

/* Error classes, see docs/management-protocol.md. */
#define ERR_GENERIC		"GenericError"
#define ERR_COMMAND_NOT_FOUND	"CommandNotFound"
#define ERR_INVALID_PARAMETER	"InvalidParameter"
#define ERR_NOT_FOUND		"NotFound"
#define ERR_INVALID_STATE	"InvalidState"
#define ERR_MODULE_UNAVAILABLE	"ModuleUnavailable"

struct errinfo {
	const char *class;	/* one of ERR_*; NULL while no error */
	char desc[512];
};

void errinfo_set(struct errinfo *e, const char *class, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
