/* SPDX-License-Identifier: ISC */
/*
 * Fault injection for the crash tests (docs/testing.md 4.4 item 1): the process
 * kills itself with SIGKILL at a named point when the environment variable
 * CHAT_FAULT names it. The variable is read once by fault_init() at
 * startup, never from client input; unset, a point costs one branch.
 */
#ifndef FAULT_H
#define FAULT_H

/*
 * Read CHAT_FAULT once: "point" fires at every fault_hit("point"),
 * "point@file" only when "file" exists, removing it first, so that one
 * file arms exactly one crash among the processes sharing the variable.
 * Without fault_init() no point ever fires. A malformed value is fatal.
 */
void fault_init(void);

/* Raise SIGKILL when "name" is the armed point; otherwise return. */
void fault_hit(const char *name);

#endif
