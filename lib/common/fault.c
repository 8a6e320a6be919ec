/* SPDX-License-Identifier: ISC */
/*
 * Named crash points for the fault-injection tests: an abrupt SIGKILL in
 * the middle of a request, as kill -9 would do, at a chosen place rather
 * than at a random moment. Only the environment, read once at startup,
 * arms a point; nothing a client sends can.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fault.h"
#include "common/log.h"

/* The point's name, then the arming file's path (empty: always armed). */
static char fault_point[64];
static char fault_file[4096];
static int fault_on;

void
fault_init(void)
{
	const char *v = getenv("CHAT_FAULT"), *at;
	size_t n;

	if (v == NULL || *v == '\0')
		return;
	at = strchr(v, '@');
	n = at != NULL ? (size_t)(at - v) : strlen(v);
	if (n == 0 || n >= sizeof(fault_point) ||
	    (at != NULL &&
	        (at[1] == '\0' || strlen(at + 1) >= sizeof(fault_file))))
		fatalx("%s: CHAT_FAULT must be point or point@file", __func__);
	snprintf(fault_point, sizeof(fault_point), "%.*s", (int)n, v);
	if (at != NULL)
		snprintf(fault_file, sizeof(fault_file), "%s", at + 1);
	fault_on = 1;
	log_warnx("%s: fault point %s armed%s%s", __func__, fault_point,
	    at != NULL ? " by " : "", fault_file);
}

/*
 * The unlink() decides who crashes: of several processes reaching the
 * point at once, exactly one removes the file.
 */
void
fault_hit(const char *name)
{
	if (!fault_on || strcmp(name, fault_point) != 0)
		return;
	if (fault_file[0] != '\0' && unlink(fault_file) == -1) {
		if (errno != ENOENT)
			log_warn("%s: unlink", __func__);
		return;
	}
	log_warnx("%s: %s: SIGKILL", __func__, name);
	raise(SIGKILL);
}
