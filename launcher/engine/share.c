/* share.c: host state several VMs change together (a slice's CPUs, IRQ
 * affinity, a stopped display manager, an unbound console, a hugepage
 * pool, the machine slice). One record per change, /run/vmrun/shared/KEY:
 * the value before the first VM and the VMs that hold the change now.
 * The first VM saves and applies, the next ones join (and the change is
 * refreshed to fit them all), each one that ends leaves, and only the
 * last one puts the original back. Read and written under the host lock,
 * by engine.c. */
#include "engine/engine.h"
#include "host/host.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The record's file: the key with '/' and '%' escaped, one file a key. */
static char *share_path(const char *key)
{
	char *name = xmalloc(strlen(key) * 3 + 1), *p = name;
	char *path;

	for (const char *k = key; *k; k++) {
		if (*k == '/' || *k == '%')
			p += sprintf(p, "%%%02X", *k);
		else
			*p++ = *k;
	}
	*p = '\0';
	path = xasprintf("%s/%s.json", paths_shared_dir(), name);
	free(name);
	return path;
}

json_object *share_holders(json_object *rec)
{
	json_object *h = NULL;

	if (rec && json_object_object_get_ex(rec, "holders", &h) &&
	    json_object_is_type(h, json_type_object))
		return h;
	return NULL;
}

json_object *share_original(json_object *rec)
{
	json_object *o = NULL;

	if (rec)
		json_object_object_get_ex(rec, "original", &o);
	return o;
}

/* A holder is a VM with a journal: one that ended without its undo (its
 * vmrun killed) keeps its journal, and leaves at `vmrun restore`; a
 * holder without one (the journal removed by hand) holds nothing. */
static void share_prune(json_object *holders, const char *self)
{
	struct strv gone = {0};

	json_object_object_foreach(holders, vm, args)
	{
		cleanup_free char *journal = paths_run_file(vm, ".json");

		(void)args;
		if (strcmp(vm, self) && !hostfs_exists(journal))
			strv_add(&gone, vm);
	}
	for (size_t i = 0; i < gone.n; i++)
		json_object_object_del(holders, gone.v[i]);
	strv_free(&gone);
}

int share_load(const char *key, const char *self, json_object **rec,
	       struct vr_error *err)
{
	cleanup_free char *abs = share_path(key);
	cleanup_free char *path = hostfs_path(abs);
	json_object *h;

	*rec = NULL;
	if (!hostfs_exists(abs))
		return 0;
	*rec = json_object_from_file(path);
	h = share_holders(*rec);
	if (!h || !share_original(*rec)) {
		json_object_put(*rec);
		*rec = NULL;
		return vr_errorx(err, EINVAL,
				 "%s is not a record of shared host state "
				 "(no original or holders): remove it once no "
				 "VM runs",
				 path);
	}
	share_prune(h, self);
	if (json_object_object_length(h))
		return 0;
	/* every holder is gone: the change is nobody's, as on a first start */
	json_object_put(*rec);
	*rec = NULL;
	return host_remove(abs, err);
}

json_object *share_new(json_object *original)
{
	json_object *rec = json_object_new_object();

	json_object_object_add(rec, "original",
			       original ? json_object_get(original)
					: json_object_new_object());
	json_object_object_add(rec, "holders", json_object_new_object());
	return rec;
}

int share_store(const char *key, json_object *rec, struct vr_error *err)
{
	cleanup_free char *abs = share_path(key);
	const char *text;
	int r;

	if (!json_object_object_length(share_holders(rec)))
		return host_remove(abs, err);
	r = host_mkdir(paths_shared_dir(), 0700, err);
	if (r)
		return r;
	text = json_object_to_json_string_ext(
		rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	return host_write_file(abs, text, strlen(text), 0600, err);
}

bool share_held(const char *key)
{
	cleanup_free char *abs = share_path(key);

	return hostfs_exists(abs);
}
