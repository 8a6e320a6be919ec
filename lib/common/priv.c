/* SPDX-License-Identifier: ISC */
/*
 * Dropping root for the workers and the push daemon, in the order of
 * OpenBSD's daemons: everything is opened as root first, then the ids are
 * changed once for all (setgroups, setresgid, setresuid) and the change is
 * verified, since a drop that silently fails is worse than none. Nothing
 * here reads client input or runs after serving has begun.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/priv.h"
#include "common/xmalloc.h"

/* Whether the real, effective or saved user id is root. */
static int
priv_is_root(void)
{
	uid_t r, e, s;

	if (getresuid(&r, &e, &s) == -1)
		fatal("getresuid");
	return r == 0 || e == 0 || s == 0;
}

int
priv_init(struct priv *p, const char *user, int allow_root)
{
	struct passwd *pw;

	p->drop = 0;
	p->uid = (uid_t)-1;
	p->gid = (gid_t)-1;
	if (!priv_is_root())
		return 0;
	if (user == NULL || *user == '\0') {
		if (allow_root) {
			log_info("serving as root: allow_root is set");
			return 0;
		}
		log_warnx(
		    "refusing to serve as root: set `user` in the config");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		/* getpwnam(3): these mean "not found" too. */
		if (errno == 0 || errno == ENOENT || errno == ESRCH ||
		    errno == EBADF || errno == EPERM)
			log_warnx("%s: no such user: %s", __func__, user);
		else
			log_warn("%s: getpwnam %s", __func__, user);
		return -1;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		log_warnx("%s: user %s has uid or gid 0: not a service user",
		    __func__, user);
		return -1;
	}
	p->drop = 1;
	p->uid = pw->pw_uid;
	p->gid = pw->pw_gid;
	return 0;
}

int
priv_chown(const struct priv *p, const char *path)
{
	struct stat st;

	if (!p->drop)
		return 0;
	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("%s: lstat %s", __func__, path);
		return -1;
	}
	if (st.st_uid != 0)
		return 0;
	if (lchown(path, p->uid, (gid_t)-1) == -1) {
		log_warn("%s: lchown %s", __func__, path);
		return -1;
	}
	return 0;
}

int
priv_db_chown(const struct priv *p, const char *db)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char *path;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]) && rc == 0; i++) {
		path = xasprintf("%s%s", db, sfx[i]);
		rc = priv_chown(p, path);
		free(path);
	}
	return rc;
}

int
priv_drop(const struct priv *p)
{
	uid_t ru, eu, su;
	gid_t rg, eg, sg, groups[2];
	int n;

	if (!p->drop)
		return 0;
	if (setgroups(1, &p->gid) == -1) {
		log_warn("%s: setgroups", __func__);
		return -1;
	}
	if (setresgid(p->gid, p->gid, p->gid) == -1) {
		log_warn("%s: setresgid", __func__);
		return -1;
	}
	if (setresuid(p->uid, p->uid, p->uid) == -1) {
		log_warn("%s: setresuid", __func__);
		return -1;
	}
	/* Trust nothing: root must be gone, every id must be the user's. */
	if (setuid(0) != -1 || setgid(0) != -1 || seteuid(0) != -1) {
		log_warnx(
		    "%s: root could be regained after the drop", __func__);
		return -1;
	}
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != p->uid || eu != p->uid || su != p->uid || rg != p->gid ||
	    eg != p->gid || sg != p->gid) {
		log_warnx("%s: ids are not the service user's after the drop",
		    __func__);
		return -1;
	}
	if ((n = getgroups(2, groups)) != 1 || groups[0] != p->gid) {
		log_warnx(
		    "%s: supplementary groups left after the drop", __func__);
		return -1;
	}
	log_info("running as uid %lu gid %lu", (unsigned long)p->uid,
	    (unsigned long)p->gid);
	return 0;
}
