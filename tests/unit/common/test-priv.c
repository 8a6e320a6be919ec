/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/priv.c and of the sandbox lib/sandbox-*.c: the root
 * policy of priv_init(), priv_chown() handing over only root's files, a
 * real drop to "nobody" that cannot be undone, a drop whose verification
 * must fail, and what the seccomp filter refuses and still allows. Every
 * drop and sandbox runs in a child process that reports through its exit
 * status; root-only cases assert what an unprivileged user gets instead.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/priv.h"
#include "common/sandbox.h"
#include "unit.h"

/* Fail the child with status "n" unless "cond" holds. */
#define CHILD_CHECK(n, cond)                                                   \
	do {                                                                   \
		if (!(cond))                                                   \
			_exit(n);                                              \
	} while (0)

/* Wait for "pid"; returns its exit status, or 1000 + signal. */
static int
child_wait(pid_t pid)
{
	int st;

	ck_assert_int_ne(pid, -1);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return 1000 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

/* The passwd entry of "nobody", which every Debian system has. */
static const struct passwd *
nobody(void)
{
	const struct passwd *pw = getpwnam("nobody");

	ck_assert_ptr_nonnull(pw);
	ck_assert_int_ne(pw->pw_uid, 0);
	return pw;
}

START_TEST(test_init_policy)
{
	const struct passwd *pw = nobody();
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	struct priv p;

	if (geteuid() != 0) {
		/* Not root: nothing to refuse, nothing to drop. */
		ck_assert_int_eq(priv_init(&p, "", 0), 0);
		ck_assert_int_eq(p.drop, 0);
		ck_assert_int_eq(priv_init(&p, "nobody", 0), 0);
		ck_assert_int_eq(p.drop, 0);
		return;
	}
	ck_assert_int_eq(priv_init(&p, "", 0), -1);
	ck_assert_int_eq(priv_init(&p, NULL, 0), -1);
	ck_assert_int_eq(priv_init(&p, "", 1), 0);
	ck_assert_int_eq(p.drop, 0);
	ck_assert_int_eq(priv_init(&p, "no-such-user-h14", 0), -1);
	ck_assert_int_eq(priv_init(&p, "no-such-user-h14", 1), -1);
	ck_assert_int_eq(priv_init(&p, "root", 1), -1);
	ck_assert_int_eq(priv_init(&p, "nobody", 0), 0);
	ck_assert_int_eq(p.drop, 1);
	ck_assert_int_eq(p.uid, uid);
	ck_assert_int_eq(p.gid, gid);
	/* The user wins over allow_root. */
	ck_assert_int_eq(priv_init(&p, "nobody", 1), 0);
	ck_assert_int_eq(p.drop, 1);
}
END_TEST

START_TEST(test_drop)
{
	const struct passwd *pw = nobody();
	uid_t uid = pw->pw_uid, r, e, s;
	gid_t gid = pw->pw_gid, rg, eg, sg, groups[8];
	struct priv p, again;
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		CHILD_CHECK(2, priv_init(&p, "nobody", 0) == 0);
		if (geteuid() != 0) {
			/* Nothing to drop; a forced drop must fail. */
			CHILD_CHECK(3, p.drop == 0 && priv_drop(&p) == 0);
			p.drop = 1;
			p.uid = uid;
			p.gid = gid;
			CHILD_CHECK(4, priv_drop(&p) == -1);
			_exit(0);
		}
		/* Supplementary groups that the drop must clear. */
		groups[0] = 0;
		groups[1] = 4;
		CHILD_CHECK(5, setgroups(2, groups) == 0);
		CHILD_CHECK(6, priv_drop(&p) == 0);
		CHILD_CHECK(7,
		    getresuid(&r, &e, &s) == 0 && r == uid && e == uid &&
		        s == uid);
		CHILD_CHECK(8,
		    getresgid(&rg, &eg, &sg) == 0 && rg == gid && eg == gid &&
		        sg == gid);
		CHILD_CHECK(9, getgroups(8, groups) == 1 && groups[0] == gid);
		CHILD_CHECK(10, setuid(0) == -1 && setgid(0) == -1);
		CHILD_CHECK(11, seteuid(0) == -1 && setresuid(0, 0, 0) == -1);
		/* Root is gone: the policy now finds nothing to drop. */
		CHILD_CHECK(12, priv_init(&again, "", 0) == 0 && !again.drop);
		_exit(0);
	}
	ck_assert_int_eq(child_wait(pid), 0);
}
END_TEST

/* A "drop" to uid 0 leaves root in place: the verification must see it. */
START_TEST(test_drop_verified)
{
	struct priv p = {1, 0, 0};
	pid_t pid;

	pid = fork();
	if (pid == 0) {
		CHILD_CHECK(2, priv_drop(&p) == -1);
		_exit(0);
	}
	ck_assert_int_eq(child_wait(pid), 0);
}
END_TEST

START_TEST(test_chown)
{
	const struct passwd *pw = nobody();
	char dir[] = "/tmp/test-priv.XXXXXX", path[256];
	struct priv p = {1, pw->pw_uid, pw->pw_gid}, none = {0, 0, 0};
	const char *sfx[] = {"a", "b", "db", "db-wal"};
	struct stat st;
	size_t i;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sfx[i]);
		ck_assert_int_ge(fd = open(path, O_CREAT | O_WRONLY, 0600), 0);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/a", dir);
	/* Nothing pending: nothing changes. */
	ck_assert_int_eq(priv_chown(&none, path), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_uid, geteuid());
	snprintf(path, sizeof(path), "%s/missing", dir);
	ck_assert_int_eq(priv_chown(&p, path), 0);
	if (geteuid() == 0) {
		/* Root's file goes to the user, the group stays. */
		snprintf(path, sizeof(path), "%s/a", dir);
		ck_assert_int_eq(priv_chown(&p, path), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_uid, pw->pw_uid);
		ck_assert_int_eq(st.st_gid, 0);
		/* Someone else's file is left alone. */
		snprintf(path, sizeof(path), "%s/b", dir);
		ck_assert_int_eq(chown(path, 12345, 12345), 0);
		ck_assert_int_eq(priv_chown(&p, path), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_uid, 12345);
		/* The database and its -wal; no -shm is fine. */
		snprintf(path, sizeof(path), "%s/db", dir);
		ck_assert_int_eq(priv_db_chown(&p, path), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_uid, pw->pw_uid);
		snprintf(path, sizeof(path), "%s/db-wal", dir);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_uid, pw->pw_uid);
	} else {
		/* Not root's file: left alone. */
		snprintf(path, sizeof(path), "%s/a", dir);
		ck_assert_int_eq(priv_chown(&p, path), 0);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_int_eq(st.st_uid, geteuid());
	}
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sfx[i]);
		ck_assert_int_eq(unlink(path), 0);
	}
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A thread body: proves that thread creation survives the filter. */
static void *
thread_run(void *arg)
{
	return arg;
}

START_TEST(test_sandbox)
{
	static char prog[] = "/bin/true";
	char *const argv[] = {prog, NULL};
	char *const envp[] = {NULL};
	char tmp[] = "/tmp/test-priv-sb.XXXXXX", c = 'x', buf[1];
	int fd, s, x = 1;
	void *ret = NULL;
	pthread_t t;
	pid_t pid, grand;

	ck_assert(strcmp(sandbox_name(), "seccomp") == 0 ||
	    strcmp(sandbox_name(), "none") == 0);
	pid = fork();
	if (pid == 0) {
		CHILD_CHECK(2, sandbox_enter("test-priv") == 0);
		if (strcmp(sandbox_name(), "none") == 0)
			_exit(0);
		CHILD_CHECK(3, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
		/* Refused. */
		CHILD_CHECK(
		    4, execve(argv[0], argv, envp) == -1 && errno == EPERM);
		CHILD_CHECK(5, unshare(CLONE_NEWUSER) == -1 && errno == EPERM);
		CHILD_CHECK(6,
		    syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0) ==
		            -1 &&
		        errno == EPERM);
		CHILD_CHECK(
		    7, syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
		CHILD_CHECK(8,
		    socket(AF_NETLINK, SOCK_RAW, 0) == -1 &&
		        errno == EAFNOSUPPORT);
		CHILD_CHECK(9,
		    socket(AF_PACKET, SOCK_RAW, 0) == -1 &&
		        errno == EAFNOSUPPORT);
		CHILD_CHECK(10, setuid(getuid()) == -1 && errno == EPERM);
		CHILD_CHECK(11, setgroups(0, NULL) == -1 && errno == EPERM);
		CHILD_CHECK(12, ioctl(0, TIOCSTI, &c) == -1 && errno == EPERM);
		CHILD_CHECK(13,
		    syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL) ==
		            -1 &&
		        errno == EPERM);
#if !defined(__SANITIZE_ADDRESS__)
		CHILD_CHECK(14,
		    ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1 &&
		        errno == EPERM);
#endif
		/* Still allowed: files, Unix and IP sockets, threads, fork. */
		CHILD_CHECK(20, (fd = mkstemp(tmp)) >= 0);
		CHILD_CHECK(21,
		    write(fd, "y", 1) == 1 && pread(fd, buf, 1, 0) == 1 &&
		        buf[0] == 'y');
		CHILD_CHECK(
		    22, fsync(fd) == 0 && close(fd) == 0 && unlink(tmp) == 0);
		CHILD_CHECK(23, (s = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
		close(s);
		CHILD_CHECK(24, (s = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
		close(s);
		CHILD_CHECK(25, pthread_create(&t, NULL, thread_run, &x) == 0);
		CHILD_CHECK(26, pthread_join(t, &ret) == 0 && ret == &x);
		grand = fork();
		if (grand == 0)
			_exit(7);
		CHILD_CHECK(27,
		    grand > 0 && waitpid(grand, &s, 0) == grand &&
		        WIFEXITED(s) && WEXITSTATUS(s) == 7);
		_exit(0);
	}
	ck_assert_int_eq(child_wait(pid), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("priv");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_init_policy);
	tcase_add_test(tc, test_drop);
	tcase_add_test(tc, test_drop_verified);
	tcase_add_test(tc, test_chown);
	tcase_add_test(tc, test_sandbox);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
