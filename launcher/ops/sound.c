/* sound.c: whose sound server QEMU plays to. vmrun runs as root (sudo,
 * pkexec, a service), and so does QEMU without [vm] run-as: its own
 * environment names no sound server, or root's, and QEMU will not start
 * with a PulseAudio or PipeWire backend that cannot connect. The server
 * is the user's: [audio] runtime-dir, else the runtime folder of the user
 * QEMU runs as ([vm] run-as), else of the user who ran vmrun. */
#include "ops/ops.h"
#include "host/host.h"
#include "qemu/qemu.h"
#include "base/base.h"

#include <pwd.h>
#include <string.h>

/* /run/user/UID when it is uid's own folder, else NULL. */
static char *user_dir(uid_t uid)
{
	char *dir = host_user_runtime_dir(uid);

	if (!dir)
		log_debug("[audio]: /run/user/%u is not user %u's runtime "
			  "folder",
			  (unsigned)uid, (unsigned)uid);
	return dir;
}

char *sound_dir(const struct profile *p)
{
	const struct passwd *pw;

	if (p->audio.backend != AUDIO_PIPEWIRE && p->audio.backend != AUDIO_PA)
		return NULL;
	if (p->audio.runtime_dir)
		return xstrdup(p->audio.runtime_dir);
	if (p->vm.run_as) {
		pw = getpwnam(p->vm.run_as);
		return pw ? user_dir(pw->pw_uid) : NULL;
	}
	return user_dir(trust_invoking_uid());
}

void sound_env(const struct profile *p, const struct host *h, const char *dir,
	       struct strv *env)
{
	if (dir && !strcmp(qemu_audio_driver(p, &h->qemu), "pipewire"))
		strv_addf(env, "PIPEWIRE_RUNTIME_DIR=%s", dir);
}
