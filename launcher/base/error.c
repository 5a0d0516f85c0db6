/* error.c: formatting of struct vr_error, the single error path of vmrun.
 * Only main prints; everything else fills one of these and returns. */
#include "base/base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int code_of(int code)
{
	if (code < 0)
		code = -code;
	return code ? code : EINVAL;
}

int vr_error(struct vr_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	if (code > 0) {
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s",
			 strerror(code));
	}
	err->code = code_of(code);
	return -err->code;
}

int vr_errorx(struct vr_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	err->code = code_of(code);
	return -err->code;
}

int vr_error_prefix(struct vr_error *err, const char *fmt, ...)
{
	char old[VR_ERROR_MAX];
	size_t len;
	va_list ap;

	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", old);
	err->code = code_of(err->code);
	return -err->code;
}

void vr_error_append(struct vr_error *err, const char *fmt, ...)
{
	size_t len = strlen(err->msg);
	va_list ap;

	if (len && len < sizeof(err->msg) - 1)
		err->msg[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(err->msg + len, sizeof(err->msg) - len, fmt, ap);
	va_end(ap);
	err->code = code_of(err->code);
}

void vr_error_clear(struct vr_error *err)
{
	err->code = 0;
	err->msg[0] = '\0';
}
