/* SPDX-License-Identifier: ISC */
/*
 * Unit tests of lib/common/fault.c: a point fires only when CHAT_FAULT names
 * it, never without fault_init(), and an arming file makes exactly one crash
 * (the file is removed by the process that dies). Each case runs the
 * points in a child process and reads how it ended.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fault.h"
#include "unit.h"

/*
 * Fork a child that sets CHAT_FAULT to "value" (NULL: unset), calls
 * fault_init() when "init" is set, then fault_hit("name") and exits 0.
 * Returns the wait status.
 */
static int
run_child(const char *value, int init, const char *name)
{
	pid_t pid;
	int st;

	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		if (value == NULL)
			unsetenv("CHAT_FAULT");
		else
			setenv("CHAT_FAULT", value, 1);
		if (init)
			fault_init();
		fault_hit(name);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static int
killed(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

static int
exited_ok(int st)
{
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

START_TEST(test_named)
{
	ck_assert(exited_ok(run_child(NULL, 1, "msg_before_commit")));
	ck_assert(exited_ok(run_child("", 1, "msg_before_commit")));
	ck_assert(exited_ok(run_child("upload_mid_write", 1, "msg_x")));
	ck_assert(exited_ok(run_child("msg", 1, "msg_before_commit")));
	ck_assert(
	    killed(run_child("msg_before_commit", 1, "msg_before_commit")));
	/* Without fault_init() the variable is never read. */
	ck_assert(
	    exited_ok(run_child("msg_before_commit", 0, "msg_before_commit")));
}
END_TEST

START_TEST(test_armed)
{
	char path[] = "/tmp/test-fault.XXXXXX", value[64];
	int fd;

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	close(fd);
	snprintf(value, sizeof(value), "p@%s", path);
	ck_assert(exited_ok(run_child(value, 1, "q")));
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert(killed(run_child(value, 1, "p")));
	ck_assert_int_eq(access(path, F_OK), -1);
	/* Disarmed: the next process passes the point. */
	ck_assert(exited_ok(run_child(value, 1, "p")));
}
END_TEST

START_TEST(test_malformed)
{
	char big[200];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert(!exited_ok(run_child("@/tmp/x", 1, "p")));
	ck_assert(!exited_ok(run_child("p@", 1, "p")));
	ck_assert(!exited_ok(run_child(big, 1, "p")));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("fault");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_named);
	tcase_add_test(tc, test_armed);
	tcase_add_test(tc, test_malformed);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
