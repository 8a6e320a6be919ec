/* SPDX-License-Identifier: ISC */
/*
 * Dropping root: a process started as root opens what it needs, hands the
 * files it created to the service user, then becomes that user for good
 * (setgroups, setresgid, setresuid) and checks that root cannot come back.
 * Nothing here reads client input; it runs before serving, once.
 */
#ifndef PRIV_H
#define PRIV_H

#include <sys/types.h>

/* What priv_init() decided, for priv_chown() and priv_drop(). */
struct priv {
	int drop;  /* 1: started as root, becomes "uid"/"gid" in priv_drop */
	uid_t uid; /* the service user (valid when "drop") */
	gid_t gid; /* its primary group (valid when "drop") */
};

/*
 * Decide what to do about root from the configuration keys "user" (empty:
 * none) and "allow_root" (0/1). Not root: nothing to drop. Root with a
 * user: look the user up (getpwnam) for priv_drop(); a user that is root
 * itself is refused. Root without a user: refused with "refusing to serve
 * as root: set `user` in the config", unless "allow_root" (the
 * development stack, tools/stack). Returns 0 with "*p" filled, or -1 after
 * logging.
 */
int priv_init(struct priv *p, const char *user, int allow_root);

/*
 * Hand "path", when it exists and is owned by root (created by this
 * process before the drop), to the service user, keeping its group (a
 * socket in a setgid directory keeps the web server's group). A no-op
 * unless a drop is pending. Returns 0 (a missing file is fine), or -1
 * after logging.
 */
int priv_chown(const struct priv *p, const char *path);

/* priv_chown() of the SQLite file "db" and of its -wal and -shm files. */
int priv_db_chown(const struct priv *p, const char *db);

/*
 * Become the service user when priv_init() said so: setgroups to its one
 * group, setresgid, setresuid, then verify that setuid(0) and setgid(0)
 * fail and that the real, effective and saved ids are the user's. Call it
 * after every file and socket is open, before sandbox_enter(). Returns 0
 * (also when there is nothing to drop), or -1 after logging: the caller
 * must then exit.
 */
int priv_drop(const struct priv *p);

#endif
