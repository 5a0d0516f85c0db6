/* fh_mem.c: hugepage pools per node and in total, compact_memory and
 * drop_caches, with the meminfo files following them. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fh_shim.h"

/* ---- memory and hugepages --------------------------------------------- */

/* Add delta to the number on the line starting with key, keeping the
 * kernel's column layout ("MemFree:        1234 kB"). */
static void meminfo_add(const char *path, const char *key, long delta)
{
	char buf[16384], out[16384 + 64], *line, *num, *end;
	int n = fh_read_str(path, buf, sizeof(buf));
	size_t klen = strlen(key);

	if (n <= 0 || !delta)
		return;
	for (line = buf; line; line = strchr(line, '\n'), line += !!line)
		if (!strncmp(line, key, klen))
			break;
	if (!line)
		return;
	num = line + klen;
	end = num + strspn(num, " ");
	end += strspn(end, "0123456789");
	snprintf(out, sizeof(out), "%.*s%*ld%s\n", (int)(num - buf), buf,
		 (int)(end - num), strtol(num, NULL, 10) + delta, end);
	fh_write_str(path, out);
}

long fh_default_hpage_kb(void)
{
	char p[PATH_MAX], buf[16384], *s;

	if (fh_read_str(fh_pathf(p, "%s/proc/meminfo", fh_root), buf,
			sizeof(buf)) <= 0)
		return 2048;
	s = strstr(buf, "Hugepagesize:");
	return s ? strtol(s + 13, NULL, 10) : 2048;
}

/* Node numbers with a folder under /sys/devices/system/node, sorted. */
static int node_list(int *ids)
{
	char p[PATH_MAX];
	int n = 0;

	for (int i = 0; i < MAX_NODES; i++)
		if (fh_is_dir(fh_pathf(p, "%s/sys/devices/system/node/node%d",
				       fh_root, i)))
			ids[n++] = i;
	return n;
}

static char *pool_path(char *p, int node, const char *pool)
{
	return fh_pathf(p, "%s/.fakehost/node%d/%s", fh_root, node, pool);
}

static char *node_hp_path(char *p, int node, long size, const char *file)
{
	return fh_pathf(p,
			"%s/sys/devices/system/node/node%d/hugepages/"
			"hugepages-%ldkB/%s",
			fh_root, node, size, file);
}

/* Account d pages of size kB taken (d < 0: given back) on node in the
 * meminfo files; the HugePages_ lines count the default size only. */
static void meminfo_account(int node, long size, long d)
{
	char p[PATH_MAX], key[64];
	bool dflt = size == fh_default_hpage_kb();

	fh_pathf(p, "%s/proc/meminfo", fh_root);
	meminfo_add(p, "MemFree:", -d * size);
	meminfo_add(p, "MemAvailable:", -d * size);
	meminfo_add(p, "Hugetlb:", d * size);
	if (dflt) {
		meminfo_add(p, "HugePages_Total:", d);
		meminfo_add(p, "HugePages_Free:", d);
	}
	fh_pathf(p, "%s/sys/devices/system/node/node%d/meminfo", fh_root, node);
	snprintf(key, sizeof(key), "Node %d MemFree:", node);
	meminfo_add(p, key, -d * size);
	snprintf(key, sizeof(key), "Node %d MemUsed:", node);
	meminfo_add(p, key, d * size);
	if (!dflt)
		return;
	snprintf(key, sizeof(key), "Node %d HugePages_Total:", node);
	meminfo_add(p, key, d);
	snprintf(key, sizeof(key), "Node %d HugePages_Free:", node);
	meminfo_add(p, key, d);
}

/* Move one node's pool towards want: growing takes only what free memory
 * holds and still succeeds, shrinking frees only free pages (the kernel
 * turns the rest into surplus; the fake never has pages in use). */
static void hp_node_set(int node, long size, long want)
{
	char p[PATH_MAX];
	long nr = fh_read_long(node_hp_path(p, node, size, "nr_hugepages"), 0);
	long fr =
		fh_read_long(node_hp_path(p, node, size, "free_hugepages"), 0);
	long mem = fh_read_long(pool_path(p, node, "free_kb"), 0), d;

	if (want > nr)
		d = want - nr < mem / size ? want - nr : mem / size;
	else
		d = nr - want < fr ? want - nr : -fr;
	if (!d)
		return;
	fh_write_long(node_hp_path(p, node, size, "nr_hugepages"), nr + d);
	fh_write_long(node_hp_path(p, node, size, "free_hugepages"), fr + d);
	fh_write_long(pool_path(p, node, "free_kb"), mem - d * size);
	meminfo_account(node, size, d);
}

/* The global files of a size are the sums over the nodes. */
static void hp_sync_global(long size)
{
	char p[PATH_MAX];
	long nr = 0, fr = 0;
	int ids[MAX_NODES], n = node_list(ids);

	for (int i = 0; i < n; i++) {
		nr += fh_read_long(
			node_hp_path(p, ids[i], size, "nr_hugepages"), 0);
		fr += fh_read_long(
			node_hp_path(p, ids[i], size, "free_hugepages"), 0);
	}
	fh_pathf(p, "%s/sys/kernel/mm/hugepages/hugepages-%ldkB", fh_root,
		 size);
	if (fh_is_dir(p)) {
		fh_write_long(fh_pathf(p,
				       "%s/sys/kernel/mm/hugepages/"
				       "hugepages-%ldkB/nr_hugepages",
				       fh_root, size),
			      nr);
		fh_write_long(fh_pathf(p,
				       "%s/sys/kernel/mm/hugepages/"
				       "hugepages-%ldkB/free_hugepages",
				       fh_root, size),
			      fr);
	}
	if (size == fh_default_hpage_kb())
		fh_write_long(
			fh_pathf(p, "%s/proc/sys/vm/nr_hugepages", fh_root),
			nr);
}

/* A global count is spread over the nodes page by page, round robin, as
 * the kernel interleaves over nodes with memory. */
static void hp_global_set(long size, long want)
{
	char p[PATH_MAX];
	int ids[MAX_NODES], n = node_list(ids);
	long nr[MAX_NODES], fr[MAX_NODES], mem[MAX_NODES], total = 0;
	bool moved = true;

	for (int i = 0; i < n; i++) {
		nr[i] = fh_read_long(
			node_hp_path(p, ids[i], size, "nr_hugepages"), 0);
		fr[i] = fh_read_long(
			node_hp_path(p, ids[i], size, "free_hugepages"), 0);
		mem[i] = fh_read_long(pool_path(p, ids[i], "free_kb"), 0);
		total += nr[i];
	}
	while (total != want && moved) {
		moved = false;
		for (int i = 0; i < n && total != want; i++) {
			if (total < want && mem[i] >= size) {
				mem[i] -= size, nr[i]++, total++;
				moved = true;
			} else if (total > want && fr[i] > 0) {
				fr[i]--, nr[i]--, total--;
				moved = true;
			}
		}
	}
	for (int i = 0; i < n; i++)
		hp_node_set(ids[i], size, nr[i]);
}

/* The size in kB from a ".../hugepages-SIZEkB/nr_hugepages" path. */
static long hp_path_size(const char *path)
{
	const char *s = strstr(path, "/hugepages-");

	return s ? strtol(s + 11, NULL, 10) : 0;
}

int fh_do_hp_node(struct req *r)
{
	const char *s = strstr(r->rel, "/node/node");
	long size = hp_path_size(r->rel);
	unsigned long want;

	if (fh_parse_ulong(r->val, &want))
		return -EINVAL;
	if (!s || size <= 0)
		return NOT_MINE;
	hp_node_set(atoi(s + 10), size, (long)want);
	hp_sync_global(size);
	return 0;
}

int fh_do_hp_global(struct req *r)
{
	long size = strncmp(r->rel, "/proc/", 6) ? hp_path_size(r->rel)
						 : fh_default_hpage_kb();
	unsigned long want;

	if (fh_parse_ulong(r->val, &want))
		return -EINVAL;
	if (size <= 0)
		return NOT_MINE;
	hp_global_set(size, (long)want);
	hp_sync_global(size);
	return 0;
}

/* Page cache dropped on a node: free, no longer cached (the builder's
 * MemFree counts free_kb + movable_kb, MemAvailable adds cache_kb). */
static void meminfo_uncache(int node, long kb)
{
	char p[PATH_MAX], key[64];

	fh_pathf(p, "%s/proc/meminfo", fh_root);
	meminfo_add(p, "MemFree:", kb);
	meminfo_add(p, "Cached:", -kb);
	fh_pathf(p, "%s/sys/devices/system/node/node%d/meminfo", fh_root, node);
	snprintf(key, sizeof(key), "Node %d MemFree:", node);
	meminfo_add(p, key, kb);
	snprintf(key, sizeof(key), "Node %d MemUsed:", node);
	meminfo_add(p, key, -kb);
	snprintf(key, sizeof(key), "Node %d FilePages:", node);
	meminfo_add(p, key, -kb);
}

/* Memory held by a pool (movable_kb, cache_kb) becomes free_kb. */
static void pool_release(const char *pool)
{
	char p[PATH_MAX];
	int ids[MAX_NODES], n = node_list(ids);

	for (int i = 0; i < n; i++) {
		long v = fh_read_long(pool_path(p, ids[i], pool), 0);
		long f = fh_read_long(pool_path(p, ids[i], "free_kb"), 0);

		if (!v)
			continue;
		fh_write_long(pool_path(p, ids[i], pool), 0);
		fh_write_long(pool_path(p, ids[i], "free_kb"), f + v);
		if (!strcmp(pool, "cache_kb"))
			meminfo_uncache(ids[i], v);
	}
}

/* Only "1" is accepted since Linux 5.x; fragmented memory becomes usable
 * (it was already counted in MemFree). */
int fh_do_compact_memory(struct req *r)
{
	unsigned long v;

	if (fh_parse_ulong(r->val, &v) || v != 1)
		return -EINVAL;
	pool_release("movable_kb");
	return 0;
}

/* 1..4; 1-3 free the page cache / slab, 4 only silences the message. */
int fh_do_drop_caches(struct req *r)
{
	unsigned long v;

	if (fh_parse_ulong(r->val, &v) || v < 1 || v > 4)
		return -EINVAL;
	if (v != 4)
		pool_release("cache_kb");
	return 0;
}
