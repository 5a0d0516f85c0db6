/* ladder.c: how vmrun stops a guest (ACPI power button twice, the
 * profile's timeout, quit, SIGTERM, SIGKILL) and what QMP events mean. */
#include "run/run.h"
#include "base/base.h"
#include "run/supervisor.h"

#include <signal.h>
#include <string.h>
#include <time.h>

static void qmp_async(struct sup *s, const char *cmd)
{
	struct vr_error e = {0};

	/* detached: nobody takes the reply; the ladder's deadlines act */
	if (!s->qmp || qmp_send(s->qmp, cmd, NULL, GRACE_MS, NULL, &e))
		log_debug("QMP %s not sent: %s", cmd,
			  s->qmp ? e.msg : "no connection");
}

void ladder_enter(struct sup *s, enum stage st)
{
	unsigned timeout_ms = s->p->vm.shutdown_timeout * 1000;
	int64_t now = now_ms();

	s->stage = st;
	switch (st) {
	case ST_RUNNING:
		break;
	case ST_POWERDOWN1:
		log_info("asking the guest to power off (%u s before it is "
			 "stopped)",
			 s->p->vm.shutdown_timeout);
		s->stop_start = now;
		s->state = "shutting down";
		qmp_async(s, "system_powerdown");
		s->deadline = now + (timeout_ms / 2 < GRACE_MS ? timeout_ms / 2
							       : GRACE_MS);
		break;
	case ST_POWERDOWN2:
		/* Windows often ignores the first ACPI event. */
		qmp_async(s, "system_powerdown");
		s->deadline = s->stop_start + timeout_ms;
		break;
	case ST_QUIT:
		s->forced = !s->guest_shutdown && !s->panicked;
		s->state = "stopping";
		if (s->qmp) {
			qmp_async(s, "quit");
			s->deadline = now + GRACE_MS;
			break;
		}
		/* fall through: without QMP, go straight to signals */
		s->stage = st = ST_TERM;
		/* fall through */
	case ST_TERM:
		log_info("sending SIGTERM to QEMU (pid %d)", (int)s->qemu);
		kill(s->qemu, SIGTERM);
		s->deadline = now + GRACE_MS;
		break;
	case ST_KILL:
		log_warn("QEMU (pid %d) ignores SIGTERM: SIGKILL",
			 (int)s->qemu);
		kill(s->qemu, SIGKILL);
		s->deadline = 0;
		break;
	}
}

/* A stop request: powerdown first, or straight to quit when forced. */
void ladder_stop(struct sup *s, bool force)
{
	/* A paused guest cannot see the power button: waiting for it would
	 * only end in "did not power off" after the whole timeout. */
	if (!force && s->stage == ST_RUNNING && strcmp(s->state, "running")) {
		log_info("the guest is %s and cannot power off: stopping QEMU",
			 s->state);
		force = true;
	}
	if (force && s->stage < ST_QUIT) {
		log_info("stopping QEMU without waiting for the guest");
		ladder_enter(s, ST_QUIT);
	} else if (s->stage == ST_RUNNING) {
		ladder_enter(s, ST_POWERDOWN1);
	}
}

void ladder_on_deadline(struct sup *s)
{
	if (!s->deadline || now_ms() < s->deadline)
		return;
	if (s->stage == ST_POWERDOWN2)
		log_warn("the guest did not power off within %u s",
			 s->p->vm.shutdown_timeout);
	if (s->stage < ST_KILL)
		ladder_enter(s, s->stage + 1);
}

void ladder_on_event(const struct qmp_event *ev, void *data)
{
	struct sup *s = data;
	json_object *v;

	log_debug("QMP event %s", ev->name);
	if (!strcmp(ev->name, "SHUTDOWN")) {
		if (json_object_object_get_ex(ev->data, "guest", &v) &&
		    json_object_get_boolean(v)) {
			log_info("the guest powered off");
			s->guest_shutdown = true;
			s->state = "shut down";
			/* -no-shutdown keeps QEMU alive: end it now */
			if (s->stage < ST_QUIT) {
				qmp_async(s, "quit");
				s->stage = ST_QUIT;
				s->deadline = now_ms() + GRACE_MS;
			}
		}
	} else if (!strcmp(ev->name, "GUEST_PANICKED")) {
		log_error("the guest panicked");
		s->panicked = true;
		if (s->stage < ST_QUIT)
			ladder_enter(s, ST_QUIT);
	} else if (!strcmp(ev->name, "RESET")) {
		log_info("the guest reset");
	} else if (!strcmp(ev->name, "STOP")) {
		runstate_on_stop(s);
	} else if (!strcmp(ev->name, "RESUME")) {
		runstate_on_resume(s);
	} else if (!strcmp(ev->name, "BLOCK_IO_ERROR")) {
		runstate_on_block_io_error(s, ev->data);
	}
}

bool ladder_powering_off(const struct sup *s)
{
	return s->stage == ST_POWERDOWN1 || s->stage == ST_POWERDOWN2;
}

void ladder_show_power_off(const struct sup *s)
{
	if (ladder_powering_off(s))
		log_progress("power-off",
			     (unsigned long long)(now_ms() - s->stop_start) /
				     1000,
			     s->p->vm.shutdown_timeout, "s");
}
