/* testlib.c: the temporary host root and its files, for every cmocka
 * suite (see testlib.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "host/host.h"
#include "testlib.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char root[64];

const char *tl_root_make(const char *name)
{
	snprintf(root, sizeof(root), "/tmp/%s.XXXXXX", name);
	assert_non_null(mkdtemp(root));
	hostfs_set_root(root);
	return root;
}

static int rm_entry(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

void tl_tree_remove(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void tl_root_remove(void)
{
	if (root[0])
		tl_tree_remove(root);
	root[0] = '\0';
}

char *tl_path(const char *abs)
{
	return xasprintf("%s%s", root, abs);
}

void tl_put(const char *abs, const char *text, unsigned mode)
{
	char *p = tl_path(abs);
	FILE *f;

	for (char *s = strchr(p + strlen(root) + 1, '/'); s;
	     s = strchr(s + 1, '/')) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(p, mode);
	free(p);
}

const char *tl_get(const char *abs)
{
	static char buf[4096];
	char *p = tl_path(abs);
	FILE *f = fopen(p, "r");
	size_t n;

	free(p);
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}
