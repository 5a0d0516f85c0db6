/* rom.c: what a vBIOS image says about itself: the length its header
 * declares, and the PCI IDs of its PCI data structure ("PCIR"), which a
 * guest's firmware compares with the device before it runs the ROM. */
#include "profile/profile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROM_READ_MAX (1024 * 1024) /* vBIOS images are well under this */

static unsigned le16(const uint8_t *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

/* The PCI data structure of the image at off: IDs and the 3.0 device
 * list (a zero-terminated list of further device IDs). */
static void rom_pcir(const uint8_t *b, size_t n, size_t off,
		     struct rom_info *ri)
{
	size_t pcir, list;

	if (off + 0x1a > n)
		return;
	pcir = off + le16(b + off + 0x18);
	if (pcir + 0x18 > n || memcmp(b + pcir, "PCIR", 4))
		return;
	ri->has_pcir = true;
	ri->vendor = le16(b + pcir + 4);
	ri->device = le16(b + pcir + 6);
	list = le16(b + pcir + 8);
	if (b[pcir + 0xc] < 3 || !list)
		return;
	for (size_t p = pcir + list; p + 2 <= n && ri->ndevs < ROM_DEVS_MAX;
	     p += 2) {
		unsigned d = le16(b + p);

		if (!d)
			break;
		ri->devs[ri->ndevs++] = d;
	}
}

int rom_read(const char *path, struct rom_info *ri)
{
	static uint8_t buf[ROM_READ_MAX];
	struct stat st;
	ssize_t n;
	int fd, e;

	memset(ri, 0, sizeof(*ri));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	n = read(fd, buf, sizeof(buf));
	e = errno;
	close(fd);
	if (n < 0)
		return -e;
	ri->file_len = (uint64_t)st.st_size;
	if (n < 3 || buf[0] != 0x55 || buf[1] != 0xaa)
		return -EINVAL;
	ri->image_len = (uint64_t)buf[2] * 512;
	rom_pcir(buf, (size_t)n, 0, ri);
	return 0;
}

bool rom_matches(const struct rom_info *ri, unsigned vendor, unsigned device)
{
	if (!ri->has_pcir)
		return true;
	if (ri->vendor != vendor)
		return false;
	if (ri->device == device)
		return true;
	for (unsigned i = 0; i < ri->ndevs; i++)
		if (ri->devs[i] == device)
			return true;
	return false;
}
