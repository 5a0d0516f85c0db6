/* qmp_event.c: events from QEMU: queued by the reader, handed out in order
 * by qmp_next_event() or to the handlers registered by name. */
#include "qmp_internal.h"

#include <string.h>

#include "base/base.h"

/* Events wait here only while nobody dispatches (during qmp_execute());
 * QEMU rate-limits the chatty ones, so this bound is never reached by a
 * sane QEMU and only keeps a runaway one from eating memory. */
#define QMP_MAX_QUEUED_EVENTS 1024

void qmp_queue_event(struct qmp *q, struct json_object *msg, const char *name)
{
	struct qmp_event_node *n = xcalloc(1, sizeof(*n)), *old;
	struct json_object *data, *ts = NULL;

	n->ev.name = xstrdup(name);
	if (json_object_object_get_ex(msg, "data", &data) &&
	    json_object_is_type(data, json_type_object))
		n->ev.data = json_object_get(data);
	else
		n->ev.data = json_object_new_object();
	json_object_object_get_ex(msg, "timestamp", &ts);
	n->ev.seconds = qmp_json_int(ts, "seconds");
	n->ev.microseconds = qmp_json_int(ts, "microseconds");
	if (q->ev_tail)
		q->ev_tail->next = n;
	else
		q->ev_head = n;
	q->ev_tail = n;
	if (++q->nevents > QMP_MAX_QUEUED_EVENTS) {
		old = q->ev_head;
		qmp_log(q, "!!", "event queue full, dropping the oldest event");
		q->ev_head = old->next;
		q->nevents--;
		qmp_event_release(&old->ev);
		free(old);
	}
}

void qmp_on_event(struct qmp *q, const char *name,
		  void (*fn)(const struct qmp_event *ev, void *data),
		  void *data)
{
	size_t i;

	for (i = 0; i < q->nhandlers; i++)
		if (!strcmp(q->handlers[i].name, name))
			break;
	if (i == q->nhandlers && !fn)
		return;
	if (i == q->nhandlers) {
		q->handlers =
			xrealloc(q->handlers, (i + 1) * sizeof(*q->handlers));
		q->handlers[q->nhandlers++].name = xstrdup(name);
	}
	if (fn) {
		q->handlers[i].fn = fn;
		q->handlers[i].data = data;
		return;
	}
	free(q->handlers[i].name);
	q->handlers[i] = q->handlers[--q->nhandlers];
}

static struct qmp_handler *qmp_find_handler(struct qmp *q, const char *name)
{
	for (size_t i = 0; i < q->nhandlers; i++)
		if (!strcmp(q->handlers[i].name, name))
			return &q->handlers[i];
	return NULL;
}

bool qmp_next_event(struct qmp *q, struct qmp_event *ev)
{
	struct qmp_event_node *n = q->ev_head;

	if (!n)
		return false;
	q->ev_head = n->next;
	if (!q->ev_head)
		q->ev_tail = NULL;
	q->nevents--;
	*ev = n->ev;
	free(n);
	return true;
}

void qmp_event_release(struct qmp_event *ev)
{
	free(ev->name);
	json_object_put(ev->data);
	ev->name = NULL;
	ev->data = NULL;
}

int qmp_dispatch_events(struct qmp *q)
{
	struct qmp_handler *h;
	struct qmp_event ev;
	int n = 0;

	while (qmp_next_event(q, &ev)) {
		h = qmp_find_handler(q, ev.name);
		if (!h)
			h = qmp_find_handler(q, "*");
		if (h) {
			h->fn(&ev, h->data);
			n++;
		}
		qmp_event_release(&ev);
	}
	return n;
}
