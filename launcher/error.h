/* error.h: the one error value threaded through every call that can fail.
 * Functions return 0 or a negative errno and fill a struct vr_error. */
#ifndef VMRUN_ERROR_H
#define VMRUN_ERROR_H

#include <stddef.h>

#define VR_ERROR_MAX 4096

struct vr_error {
	int code;		/* positive errno, 0 when no error */
	char msg[VR_ERROR_MAX]; /* may hold several lines */
};

/* Set the error to a printf message, ": strerror(code)" appended when code
 * is an errno from a failed call (pass 0 or a negative code to omit it).
 * Returns -abs(code), or -EINVAL when code is 0. */
int vr_error(struct vr_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same without the strerror suffix. */
int vr_errorx(struct vr_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix context to an existing message: "ctx: old". Returns -err->code. */
int vr_error_prefix(struct vr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Append one more line to the message (for lists of problems). */
void vr_error_append(struct vr_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vr_error_clear(struct vr_error *err);

#endif
