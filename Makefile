# vmrun: one binary that runs a GPU-passthrough VM from an INI profile.
# `make` builds build/vmrun; `make check` builds sanitizer variants and runs
# every test; `make install` honours PREFIX and DESTDIR.

CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share
PKG_CONFIG ?= pkg-config
PKGS = json-c inih libpci numa

WARN = -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wno-missing-field-initializers -Werror
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
CPPFLAGS += -D_GNU_SOURCE -Ilauncher -Iqmp
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN) $(PKG_CFLAGS)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
      -fno-sanitize-recover=all

LIB_SRC = $(filter-out launcher/main.c,$(wildcard launcher/*.c)) \
	  $(wildcard qmp/*.c)
TEST_SRC = $(wildcard tests/test_*.c)
SRC = launcher/main.c $(LIB_SRC)
HDR = $(wildcard launcher/*.h qmp/*.h)

OBJ = $(patsubst %.c,build/obj/%.o,$(SRC))
LIB_OBJ = $(patsubst %.c,build/obj/%.o,$(LIB_SRC))
SAN_OBJ = $(patsubst %.c,build/san/%.o,$(SRC))
SAN_LIB_OBJ = $(patsubst %.c,build/san/%.o,$(LIB_SRC))
SAN_TESTS = $(patsubst tests/%.c,build/san/tests/%,$(TEST_SRC))

.PHONY: all check unit install uninstall clean format format-check demo

all: build/vmrun build/fakehost.so

build/vmrun: $(OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/san/vmrun: $(SAN_OBJ)
	$(CC) $(CFLAGS) $(SAN) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/obj/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

build/san/%.o: %.c $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -c -o $@ $<

# Tests link the archive, so each pulls in only the modules it uses.
build/san/libvmrun.a: $(SAN_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

build/san/tests/%: tests/%.c build/san/libvmrun.a $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -o $@ $< build/san/libvmrun.a \
		$(PKG_LIBS) -lcmocka

# The fake host's kernel emulation, preloaded into the program under test.
build/fakehost.so: tests/fakehost/fakehost.c
	@mkdir -p build
	$(CC) $(CPPFLAGS) -std=c11 -O2 -g -Wall -Wextra -Werror -fPIC \
		-shared -o $@ $< -ldl

unit: $(SAN_TESTS)

# Unit tests run under ASan/UBSan; the shell suites use both builds.
check: all build/san/vmrun $(SAN_TESTS)
	tests/run

# The README's first command ends here: the demo VM (no GPU, TCG).
build/demo/boot.img: scripts/make-demo-disk
	scripts/make-demo-disk $@

# vmrun changes the host (/run/vmrun), so the demo runs as root.
SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

demo: build/vmrun build/demo/boot.img
	$(SUDO) build/vmrun profiles/demo.ini

install: build/vmrun
	install -Dm755 build/vmrun $(DESTDIR)$(BINDIR)/vmrun
	install -d $(DESTDIR)$(DATADIR)/vmrun/profiles
	install -m644 profiles/*.ini $(DESTDIR)$(DATADIR)/vmrun/profiles/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vmrun
	rm -rf $(DESTDIR)$(DATADIR)/vmrun

FORMAT_FILES = $(wildcard launcher/*.[ch] qmp/*.[ch] tests/*.c \
		 tests/fakehost/*.c)

format:
	clang-format -i $(FORMAT_FILES)

format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && \
		echo "format-check: $(words $(FORMAT_FILES)) files clean"

clean:
	rm -rf build
