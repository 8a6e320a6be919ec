/* SPDX-License-Identifier: ISC */
/*
 * The Linux sandbox, with libseccomp: a deny-list of the system calls a
 * chat process never needs once it serves (running programs, tracing or
 * reading other processes, mounts, namespaces, kernel modules, keyrings,
 * BPF, changing ids), answered with EPERM, under no_new_privs. It is a
 * deny-list on purpose: the workers and the daemon run SQLite, ZeroMQ's
 * I/O thread, libmagic, libuv and, in test builds, the sanitizers, whose
 * system calls change with library versions, and an allow-list one call
 * too tight would kill workers in production, which is worse than none.
 */
#include <errno.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "common/log.h"
#include "common/sandbox.h"

/*
 * LeakSanitizer stops the process with ptrace() at exit to scan it for
 * leaks: a sanitizer build must keep ptrace (on itself; the ids are
 * dropped, so it reaches no other user's process).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_KEEP_PTRACE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SANDBOX_KEEP_PTRACE 1
#endif
#endif

/* Answered with EPERM whatever their arguments. */
static const char *const sandbox_denied[] = {
    /* running other programs */
    "execve", "execveat",
#ifndef SANDBOX_KEEP_PTRACE
    "ptrace",
#endif
    /* other processes' memory and files */
    "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
    /* file system roots and mounts */
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
    "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
    "open_by_handle_at", "name_to_handle_at", "quotactl",
    /* ids and capabilities: dropped once, never changed again */
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setgroups", "setfsuid", "setfsgid", "capset",
    /* namespaces (clone's namespace flags are below) */
    "unshare", "setns",
    /* the kernel itself */
    "init_module", "finit_module", "delete_module", "kexec_load",
    "kexec_file_load", "bpf", "perf_event_open", "userfaultfd", "keyctl",
    "add_key", "request_key", "reboot", "swapon", "swapoff", "acct",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname",
    "setdomainname", "iopl", "ioperm", "syslog", "vhangup", "lookup_dcookie"};

/* clone() flags that would make a namespace: EPERM. */
static const unsigned long sandbox_clone_ns[] = {CLONE_NEWNS, CLONE_NEWCGROUP,
    CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET};

/*
 * Socket families a process may still create (UNIX: syslog, ZeroMQ ipc://
 * reconnects; INET, INET6: a TCP listener or endpoint). The others are
 * refused with EAFNOSUPPORT: below AF_INET6 (10), every family but 1 and
 * 2; above it, all.
 */
static const int sandbox_af_denied[] = {0, 3, 4, 5, 6, 7, 8, 9};

/* Add one rule to "ctx"; "what" names it in the log. 0 or -1. */
static int
sandbox_rule(scmp_filter_ctx ctx, uint32_t action, int nr, const char *what,
    unsigned int narg, const struct scmp_arg_cmp *arg)
{
	int r;

	if ((r = seccomp_rule_add_array(ctx, action, nr, narg, arg)) < 0) {
		log_warnx("sandbox: rule for %s: %s", what, strerror(-r));
		return -1;
	}
	return 0;
}

/* Fill "ctx" with every rule. Returns 0, or -1 after logging. */
static int
sandbox_rules(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp arg;
	size_t i;
	int nr;

	for (i = 0; i < sizeof(sandbox_denied) / sizeof(sandbox_denied[0]);
	     i++) {
		/* A call this architecture lacks cannot be made anyway. */
		if ((nr = seccomp_syscall_resolve_name(sandbox_denied[i])) ==
		    __NR_SCMP_ERROR)
			continue;
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), nr,
		        sandbox_denied[i], 0, NULL) == -1)
			return -1;
	}
	/*
	 * clone3() passes its flags in memory, where seccomp cannot look:
	 * ENOSYS makes glibc (and libuv, and ZeroMQ through it) fall back to
	 * clone(), whose flags are checked here.
	 */
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	        "clone3", 0, NULL) == -1)
		return -1;
	for (i = 0; i < sizeof(sandbox_clone_ns) / sizeof(sandbox_clone_ns[0]);
	     i++) {
		arg = SCMP_A0_64(SCMP_CMP_MASKED_EQ, sandbox_clone_ns[i],
		    sandbox_clone_ns[i]);
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone),
		        "clone", 1, &arg) == -1)
			return -1;
	}
	for (i = 0;
	     i < sizeof(sandbox_af_denied) / sizeof(sandbox_af_denied[0]);
	     i++) {
		arg = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)sandbox_af_denied[i]);
		if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT),
		        SCMP_SYS(socket), "socket", 1, &arg) == -1)
			return -1;
	}
	arg = SCMP_A0_32(SCMP_CMP_GT, AF_INET6);
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EAFNOSUPPORT), SCMP_SYS(socket),
	        "socket", 1, &arg) == -1)
		return -1;
	/* Typing into the controlling terminal. */
	arg = SCMP_A1_32(SCMP_CMP_EQ, TIOCSTI);
	if (sandbox_rule(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), "ioctl",
	        1, &arg) == -1)
		return -1;
	return 0;
}

/*
 * Load the filter for every thread of the process (TSYNC: ZeroMQ's I/O
 * thread exists already) with no_new_privs set. Anything not listed is
 * allowed, so SQLite, ZeroMQ, libmagic, libuv and the sanitizers run
 * unchanged; denied calls fail with an errno rather than killing the
 * process. Returns 0, or -1 after logging.
 */
int
sandbox_enter(const char *name)
{
	scmp_filter_ctx ctx;
	int r, rc = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("%s: prctl PR_SET_NO_NEW_PRIVS", name);
		return -1;
	}
	/*
	 * Level 2 is the seccomp() system call with TSYNC (Linux 3.17). Below
	 * it (valgrind, which does not emulate seccomp(), or an old kernel)
	 * the process cannot confine ZeroMQ's thread: say so and serve
	 * without the filter rather than not at all.
	 */
	if (seccomp_api_get() < 2) {
		log_warnx("%s: no seccomp() with thread sync here (valgrind? "
		          "kernel older than 3.17?): no sandbox",
		    name);
		return 0;
	}
	if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL) {
		log_warnx("%s: seccomp_init failed", name);
		return -1;
	}
	if ((r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1)) < 0 ||
	    (r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0) {
		log_warnx("%s: seccomp_attr_set: %s", name, strerror(-r));
		goto out;
	}
	if (sandbox_rules(ctx) == -1)
		goto out;
	if ((r = seccomp_load(ctx)) < 0) {
		log_warnx("%s: seccomp_load: %s", name, strerror(-r));
		goto out;
	}
	log_debug("%s: seccomp sandbox entered", name);
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

const char *
sandbox_name(void)
{
	return "seccomp";
}
