/* hugepages.c: guest RAM on hugepages: the planner (node, pool, checks) and
 * the op that raises a node's pool by the shortfall and gives it back. */
#include "ops/ops.h"
#include "host/host.h"
#include "base/base.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int hugepages_node_known(const struct profile *p, const struct host *h)
{
	if (p->memory.numa_node >= 0)
		return p->memory.numa_node;
	for (size_t i = 0; i < p->npci; i++) {
		const struct host_pci *d = host_pci_find(h, &p->pci[i].host);

		if (d && d->numa_node >= 0)
			return d->numa_node;
	}
	return -1;
}

int hugepages_node(const struct profile *p, const struct host *h)
{
	int node = hugepages_node_known(p, h);

	return node < 0 ? 0 : node;
}

int hugepages_guest_node(const struct profile *p, const struct host *h)
{
	return p->memory.hugepages != HUGEPAGES_NONE
		       ? hugepages_node(p, h)
		       : hugepages_node_known(p, h);
}

void hugepages_format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = {"KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes / KIB;
	size_t u = 0;

	if (bytes < KIB) {
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
		return;
	}
	while (v >= 1024 && u + 1 < ARRAY_SIZE(unit)) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%llu %s", (unsigned long long)v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

long hugepages_shortfall(long free, long need)
{
	return free >= need ? 0 : need - free;
}

char *hugepages_short_message(int node, unsigned long size_kb, long need,
			      long got, long node_free_kb, long avail_kb)
{
	char page[32], nfree[32], avail[32];

	hugepages_format_size((uint64_t)size_kb * KIB, page, sizeof(page));
	if (node_free_kb >= 0)
		hugepages_format_size((uint64_t)node_free_kb * KIB, nfree,
				      sizeof(nfree));
	else
		snprintf(nfree, sizeof(nfree), "unknown");
	if (avail_kb >= 0)
		hugepages_format_size((uint64_t)avail_kb * KIB, avail,
				      sizeof(avail));
	else
		snprintf(avail, sizeof(avail), "unknown");
	return xasprintf("could not reserve %ld x %s hugepages on node %d: "
			 "got %ld (free memory on the node %s, MemAvailable "
			 "%s); close programs or reserve them at boot "
			 "(hugepagesz=%s hugepages=%ld on the kernel command "
			 "line)",
			 need, page, node, got, nfree, avail,
			 size_kb == 2048 ? "2M" : "1G", need);
}

/* ---- planning ---- */

static unsigned long pagesize_kb(enum hugepages hp)
{
	return hp == HUGEPAGES_1G ? 1048576 : 2048;
}

static const struct host_node *node_find(const struct host *h, int id)
{
	for (size_t i = 0; i < h->nnodes; i++)
		if (h->nodes[i].id == id)
			return &h->nodes[i];
	return NULL;
}

/* "0-1" for messages. */
static char *node_ids(const struct host *h)
{
	struct cpulist ids = {0};
	char *s;

	if (!h->nnodes)
		return xstrdup("none");
	ids.cpu = xcalloc(h->nnodes, sizeof(int));
	for (size_t i = 0; i < h->nnodes; i++)
		ids.cpu[ids.n++] = h->nodes[i].id;
	s = cpulist_format(&ids);
	cpulist_free(&ids);
	return s;
}

static int node_check(const struct profile *p, const struct host *h, int node,
		      struct vr_error *err)
{
	cleanup_free char *ids = NULL;

	/* Without NUMA in sysfs the host is one node, 0. */
	if (node_find(h, node) || (!h->nnodes && node == 0))
		return 0;
	ids = node_ids(h);
	if (p->memory.numa_node >= 0)
		vr_errorx(err, ENODEV,
			  "[memory] numa-node = %d: this host has no NUMA node "
			  "%d (its nodes: %s)",
			  node, node, ids);
	else
		vr_errorx(err, ENODEV,
			  "[memory] numa-node = auto chose node %d (the node "
			  "of the first passed-through device), which this "
			  "host does not have (its nodes: %s): set numa-node",
			  node, ids);
	return profile_error_at(p, "memory", "numa-node", err);
}

static const struct host_hugepool *pool_check(const struct host *h, int node,
					      enum hugepages hp,
					      struct vr_error *err)
{
	unsigned long kb = pagesize_kb(hp);
	const struct host_hugepool *pool = host_pool_find(h, node, kb);

	if (!pool && !h->nnodes)
		pool = host_pool_find(h, -1, kb);
	if (pool)
		return pool;
	for (size_t i = 0; i < h->npools; i++)
		if (h->pools[i].size_kb == kb) {
			vr_errorx(
				err, ENOENT,
				"NUMA node %d has no %s hugepage pool (a node "
				"without memory?): set [memory] numa-node to "
				"node %d",
				node, hp == HUGEPAGES_1G ? "1G" : "2M",
				h->pools[i].node);
			return NULL;
		}
	if (hp == HUGEPAGES_1G)
		vr_errorx(err, ENOENT,
			  "1G hugepages are not available on this host: boot "
			  "with hugepagesz=1G or use hugepages = 2M");
	else
		vr_errorx(err, ENOENT,
			  "2M hugepages are not available on this host (a "
			  "kernel without hugetlbfs?): use hugepages = none");
	return NULL;
}

/* What the host keeps for itself, of total bytes of RAM, when a guest's
 * memory is in hugepages (never swapped, never given back while it runs):
 * 1/16 of it, at least 2 GiB. */
uint64_t hugepages_host_keeps(uint64_t total)
{
	return total / 16 > 2 * GIB ? total / 16 : 2 * GIB;
}

static int room_check(const struct profile *p, const struct host *h,
		      uint64_t page, struct vr_error *err)
{
	uint64_t total = 0, keep, most;
	char mem[32], all[32], left[32], kept[32];

	for (size_t i = 0; i < h->nnodes; i++)
		total += h->nodes[i].mem_total;
	keep = hugepages_host_keeps(total);
	if (!total || p->vm.memory + keep <= total)
		return 0;
	most = total > keep ? (total - keep) / page * page : 0;
	hugepages_format_size(p->vm.memory, mem, sizeof(mem));
	hugepages_format_size(total, all, sizeof(all));
	hugepages_format_size(p->vm.memory < total ? total - p->vm.memory : 0,
			      left, sizeof(left));
	hugepages_format_size(keep, kept, sizeof(kept));
	vr_errorx(err, ENOMEM,
		  "[vm] memory = %s in hugepages would leave this host %s of "
		  "its %s, and hugepages are neither swapped nor given back "
		  "while the guest runs: the host needs %s for itself; make "
		  "memory %lluM or less (or set [memory] hugepages = none)",
		  mem, left, all, kept, (unsigned long long)(most / MIB));
	return profile_error_at(p, "vm", "memory", err);
}

static int size_check(const struct profile *p, const struct host *h, int node,
		      unsigned long kb, struct vr_error *err)
{
	const struct host_node *n = node_find(h, node);
	uint64_t page = (uint64_t)kb * KIB;
	char mem[32], nmem[32];

	hugepages_format_size(p->vm.memory, mem, sizeof(mem));
	if (p->vm.memory % page) {
		uint64_t lo = p->vm.memory / page * page;
		char a[32], b[32];

		hugepages_format_size(lo ? lo : page, a, sizeof(a));
		hugepages_format_size(lo + page, b, sizeof(b));
		vr_errorx(err, EINVAL,
			  "[vm] memory = %s is not a whole number of %s "
			  "hugepages: use %s or %s%s",
			  mem, kb == 2048 ? "2M" : "1G", a, b,
			  kb == 2048 ? "" : ", or hugepages = 2M");
		return profile_error_at(p, "vm", "memory", err);
	}
	if (n && n->mem_total && p->vm.memory > n->mem_total) {
		hugepages_format_size(n->mem_total, nmem, sizeof(nmem));
		vr_errorx(
			err, ENOMEM,
			"[vm] memory = %s does not fit in NUMA node %d, which "
			"has %s in all: lower memory or choose another "
			"[memory] numa-node",
			mem, node, nmem);
		return profile_error_at(p, "vm", "memory", err);
	}
	return room_check(p, h, page, err);
}

int hugepages_plan(struct plan *plan, const struct profile *p,
		   const struct host *h, struct vr_error *err)
{
	int node = hugepages_node(p, h);
	const struct host_hugepool *pool;
	unsigned long kb;
	json_object *args;
	char page[32], total[32];
	long need;
	int r;

	r = node_check(p, h, node, err);
	if (r || p->memory.hugepages == HUGEPAGES_NONE)
		return r;
	kb = pagesize_kb(p->memory.hugepages);
	pool = pool_check(h, node, p->memory.hugepages, err);
	if (!pool)
		return profile_error_at(p, "memory", "hugepages", err);
	r = size_check(p, h, node, kb, err);
	if (r)
		return r;
	need = (long)(p->vm.memory / ((uint64_t)kb * KIB));
	args = json_object_new_object();
	json_object_object_add(args, "node", json_object_new_int(pool->node));
	json_object_object_add(args, "size_kb", json_object_new_int64(kb));
	json_object_object_add(args, "pages", json_object_new_int64(need));
	json_object_object_add(args, "compact",
			       json_object_new_boolean(p->host.compact_memory));
	hugepages_format_size((uint64_t)kb * KIB, page, sizeof(page));
	hugepages_format_size(p->vm.memory, total, sizeof(total));
	plan_add(plan, &hugepages_op_reserve, args,
		 "reserve %ld x %s hugepages (%s) on NUMA node %d", need, page,
		 total, node);
	return hugetlbfs_plan_folder(plan, p, kb, err);
}

/* ---- the "hugepages" op ---- */

struct pool {
	int node;
	unsigned long size_kb;
	long need;
	bool compact;
	char *nr, *free; /* unrooted sysfs files */
};

static void pool_free(struct pool *pl)
{
	free(pl->nr);
	free(pl->free);
}

static int pool_from_args(const struct op *op, struct pool *pl,
			  struct vr_error *err)
{
	json_object *node, *kb, *pages, *compact;
	char *dir;

	memset(pl, 0, sizeof(*pl));
	if (!json_object_object_get_ex(op->args, "node", &node) ||
	    !json_object_object_get_ex(op->args, "size_kb", &kb) ||
	    !json_object_object_get_ex(op->args, "pages", &pages))
		return vr_errorx(err, EINVAL,
				 "hugepages: node, size_kb or pages missing "
				 "from the op's arguments");
	pl->node = json_object_get_int(node);
	pl->size_kb = (unsigned long)json_object_get_int64(kb);
	pl->need = (long)json_object_get_int64(pages);
	pl->compact =
		json_object_object_get_ex(op->args, "compact", &compact) &&
		json_object_get_boolean(compact);
	if (pl->size_kb == 0 || pl->need < 0)
		return vr_errorx(err, EINVAL, "hugepages: bad op arguments");
	dir = xasprintf("/sys/devices/system/node/node%d/hugepages/"
			"hugepages-%lukB",
			pl->node, pl->size_kb);
	/* A kernel without NUMA has only the global pool (node 0's). */
	if (pl->node < 0 || !hostfs_exists(dir)) {
		free(dir);
		dir = xasprintf("/sys/kernel/mm/hugepages/hugepages-%lukB",
				pl->size_kb);
	}
	pl->nr = xasprintf("%s/nr_hugepages", dir);
	pl->free = xasprintf("%s/free_hugepages", dir);
	free(dir);
	return 0;
}

/* Raise nr_hugepages to target in steps of 1 GiB, so progress shows and
 * each step is checked; stops at the first step the kernel cannot fill.
 * from is where the whole reservation started (for the progress bar).
 * Returns the count reached or -errno. */
static long pool_raise(const struct pool *pl, long from, long nr, long target,
		       struct vr_error *err)
{
	long step = (long)(GIB / ((uint64_t)pl->size_kb * KIB));
	long got = nr;
	int r = 0;

	if (step < 1)
		step = 1;
	while (nr < target) {
		long next = nr + step < target ? nr + step : target;
		char v[32];

		snprintf(v, sizeof(v), "%ld", next);
		/* The kernel takes what it can and reports success; some
		 * emulations say ENOMEM. Either way the read-back tells. */
		r = host_write(pl->nr, v, err);
		if (!r || r == -ENOMEM)
			r = hostfs_read_long(pl->nr, &got, err);
		if (r || got < next)
			break;
		/* A terminal shows a bar; logs get nothing per step. */
		log_progress("hugepages", (unsigned long long)(got - from),
			     (unsigned long long)(target - from), "pages");
		nr = got;
	}
	log_progress_done();
	return r ? r : got;
}

/* The count to put back, and the pages free before any VM: a VM that
 * joins later takes its pages on top of those of the VMs there. */
static int reserve_save(struct op *op, struct vr_error *err)
{
	struct pool pl;
	long nr, free;
	int r = pool_from_args(op, &pl, err);

	if (!r)
		r = hostfs_read_long(pl.nr, &nr, err);
	if (!r)
		r = hostfs_read_long(pl.free, &free, err);
	if (!r) {
		op->saved = json_object_new_object();
		json_object_object_add(op->saved, "nr",
				       json_object_new_int64(nr));
		json_object_object_add(op->saved, "free",
				       json_object_new_int64(free));
	}
	pool_free(&pl);
	return r;
}

static int reserve_fail(const struct pool *pl, long nr0, long got,
			struct vr_error *err)
{
	char node_meminfo[96], buf[4096], v[32];
	long node_free = -1, avail = -1;
	struct vr_error scratch;
	cleanup_free char *msg = NULL, *opts = NULL, *how = NULL;

	snprintf(v, sizeof(v), "%ld", nr0);
	if (host_write(pl->nr, v, err))
		return vr_error_prefix(err,
				       "could not reserve %ld hugepages "
				       "on node %d, and putting the old "
				       "count back failed",
				       pl->need, pl->node);
	snprintf(node_meminfo, sizeof(node_meminfo),
		 "/sys/devices/system/node/node%d/meminfo",
		 pl->node < 0 ? 0 : pl->node);
	if (!hostfs_read(node_meminfo, buf, sizeof(buf), &scratch))
		node_free = host_meminfo_kb(buf, "MemFree");
	if (!hostfs_read("/proc/meminfo", buf, sizeof(buf), &scratch))
		avail = host_meminfo_kb(buf, "MemAvailable");
	msg = hugepages_short_message(pl->node, pl->size_kb, pl->need, got,
				      node_free, avail);
	opts = xasprintf("hugepagesz=%s hugepages=%ld",
			 pl->size_kb == 2048 ? "2M" : "1G", pl->need);
	how = boot_cmdline_fix(opts);
	return vr_errorx(err, ENOMEM, "%s; on this host: %s", msg, how);
}

/* Ask the kernel for more contiguous memory; failures are not fatal (a
 * kernel without compaction has no compact_memory file). */
static void pool_reclaim(const char *file, const char *value)
{
	struct vr_error scratch;

	if (!strcmp(value, "3"))
		sync();
	host_write(file, value, &scratch);
}

/* Someone else may have taken pages meanwhile: trust only free_hugepages. */
static int reserve_verify(const struct pool *pl, long nr0, struct vr_error *err)
{
	long free;
	int r = hostfs_read_long(pl->free, &free, err);

	if (r || free >= pl->need)
		return r;
	return reserve_fail(pl, nr0, free, err);
}

/* Raise the pool from nr0 to target, compacting memory and dropping
 * caches when it falls short (with [memory] compact-memory): the count
 * reached, or -errno. free0 pages were free before, need are wanted free
 * (for the messages). */
static long pool_grow(const struct pool *pl, long nr0, long target, long free0,
		      long need, struct vr_error *err)
{
	static const char *const ladder[][3] = {
		{"/proc/sys/vm/compact_memory", "1", "compacting memory"},
		{"/proc/sys/vm/drop_caches", "3", "dropping caches"},
	};
	long got = pool_raise(pl, nr0, nr0, target, err);

	for (size_t i = 0; pl->compact && i < ARRAY_SIZE(ladder); i++) {
		if (got < 0 || got >= target)
			break;
		log_info("only %ld of %ld hugepages free on node %d: %s and "
			 "trying again",
			 free0 + got - nr0, need, pl->node, ladder[i][2]);
		pool_reclaim(ladder[i][0], ladder[i][1]);
		got = pool_raise(pl, nr0, got, target, err);
	}
	return got;
}

static int reserve_apply(struct op *op, struct vr_error *err)
{
	struct pool pl;
	long nr0, free0, target, got;
	int r = pool_from_args(op, &pl, err);

	if (!r)
		r = hostfs_read_long(pl.nr, &nr0, err);
	if (!r)
		r = hostfs_read_long(pl.free, &free0, err);
	if (r || !hugepages_shortfall(free0, pl.need))
		goto out;
	target = nr0 + hugepages_shortfall(free0, pl.need);
	got = pool_grow(&pl, nr0, target, free0, pl.need, err);
	if (got < 0)
		r = (int)got;
	else if (got < target)
		r = reserve_fail(&pl, nr0, free0 + got - nr0, err);
	else
		r = reserve_verify(&pl, nr0, err);
out:
	pool_free(&pl);
	return r;
}

static int reserve_undo(struct op *op, struct vr_error *err)
{
	json_object *nr;
	struct pool pl;
	int r;

	if (!op->saved || !json_object_object_get_ex(op->saved, "nr", &nr))
		return 0;
	r = pool_from_args(op, &pl, err);
	if (!r)
		r = host_write(pl.nr, json_object_get_string(nr), err);
	pool_free(&pl);
	return r;
}

/* Undo writes a count to a pool's nr_hugepages: the pool named by
 * numbers, the count a number. */
static int reserve_check(const struct op *op, const char *vm,
			 struct vr_error *err)
{
	long long node, kb, pages;
	json_object *nr;

	(void)vm;
	if (!op_arg_int(op, "node", &node) || node < -1 || node > 4096 ||
	    !op_arg_int(op, "size_kb", &kb) || kb <= 0 ||
	    !op_arg_int(op, "pages", &pages) || pages < 0)
		return op_refuse(op, err, "has no pool (node, size_kb, pages)");
	if (op->saved && json_object_object_get_ex(op->saved, "nr", &nr) &&
	    (!json_object_is_type(nr, json_type_int) ||
	     json_object_get_int64(nr) < 0))
		return op_refuse(op, err, "would write '%s' to nr_hugepages",
				 json_object_get_string(nr));
	return 0;
}

/* One record per pool: every VM's pages come out of it. */
static char *reserve_key(const struct op *op)
{
	struct vr_error e = {0};
	struct pool pl;
	char *key;

	if (pool_from_args(op, &pl, &e))
		return NULL;
	key = xasprintf("hugepages-%s", pl.nr);
	pool_free(&pl);
	return key;
}

/* The pool every VM still there needs: the count before the first VM,
 * plus what all their pages take beyond the pages free then. */
static int reserve_refresh(struct op *op, json_object *holders,
			   struct vr_error *err)
{
	struct pool pl;
	long nr0, free0 = 0, sum = 0, cur, target, got;
	json_object *v;
	char val[32];
	int r = pool_from_args(op, &pl, err);

	if (r)
		return r;
	if (!op->saved || !json_object_object_get_ex(op->saved, "nr", &v)) {
		pool_free(&pl);
		return vr_errorx(err, EINVAL, "hugepages: no saved count");
	}
	nr0 = (long)json_object_get_int64(v);
	if (json_object_object_get_ex(op->saved, "free", &v))
		free0 = (long)json_object_get_int64(v);
	json_object_object_foreach(holders, vm, args)
	{
		(void)vm;
		if (json_object_object_get_ex(args, "pages", &v))
			sum += (long)json_object_get_int64(v);
	}
	target = nr0 + hugepages_shortfall(free0, sum);
	r = hostfs_read_long(pl.nr, &cur, err);
	if (!r && target > cur) {
		got = pool_grow(&pl, cur, target, 0, target - cur, err);
		if (got < 0)
			r = (int)got;
		else if (got < target)
			r = reserve_fail(&pl, cur, pl.need - (target - got),
					 err);
	} else if (!r && target < cur) {
		snprintf(val, sizeof(val), "%ld", target);
		r = host_write(pl.nr, val, err);
	}
	pool_free(&pl);
	return r;
}

const struct op_type hugepages_op_reserve = {
	.name = "hugepages",
	.save = reserve_save,
	.apply = reserve_apply,
	.undo = reserve_undo,
	.check = reserve_check,
	.share_key = reserve_key,
	.share_refresh = reserve_refresh,
};
OP_TYPE_REGISTER(hugepages_op_reserve);
