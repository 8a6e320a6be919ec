/* SPDX-License-Identifier: ISC */
/*
 * chat-admin, the administrator's command line: changes to the database
 * that no client may make, run by hand beside the service. It reads the
 * database path from the same chat.conf as chat-fcgi and chat-pushd,
 * drops root as they do before opening it (so every file SQLite creates
 * belongs to the service user), and opens it without migrating, since
 * the accounts it renames are what keeps the programs from migrating.
 * It serves no client and runs nothing in the background.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "chat/chat.h"
#include "chat/db.h"
#include "common/conf.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/valid.h"

/* An argument, escaped for printing (an administrator typed it). */
#define ADMIN_NAME_LEN (LOG_CLIENT_MAX * 4 + 8)

static void
usage(void)
{
	fprintf(stderr,
	    "usage: chat-admin [-v] -c file command [argument...]\n"
	    "  -c file  the configuration file of chat-fcgi and chat-pushd\n"
	    "  -v       verbose\n"
	    "commands:\n"
	    "  rename-user OLD NEW  give the account called OLD (its exact\n"
	    "                       spelling, or any case when only one\n"
	    "                       account matches) the username NEW\n"
	    "  clashes              list the accounts (id, name) whose\n"
	    "                       username is another's regardless of "
	    "case\n");
	exit(1);
}

/* db_user_clashes() callback: one account per line, "id name". */
static void
admin_clash_print(void *arg, int64_t id, const char *username)
{
	char name[ADMIN_NAME_LEN];

	(void)arg;
	printf("%lld %s\n", (long long)id,
	    log_escape(name, sizeof(name), username, strlen(username)));
}

/* clashes: print them. Returns the exit status. */
static int
admin_clashes(struct db *db)
{
	size_t n;

	if (db_user_clashes(db, admin_clash_print, NULL, &n) != CHAT_OK)
		return 1;
	if (n > 0)
		fprintf(stderr,
		    "%zu accounts share a username regardless of case: rename "
		    "all but one of each name with chat-admin rename-user\n",
		    n);
	return 0;
}

/*
 * rename-user: refuse a NEW that is not a valid username, or that another
 * account has in any case; print the change and how many accounts still
 * clash. Returns the exit status.
 */
static int
admin_rename(struct db *db, const char *from, const char *to)
{
	char f[ADMIN_NAME_LEN], t[ADMIN_NAME_LEN];
	enum chat_err e;
	int64_t id = 0;
	size_t n;

	log_escape(f, sizeof(f), from, strlen(from));
	log_escape(t, sizeof(t), to, strlen(to));
	if (!valid_username(to)) {
		log_warnx("\"%s\" is not a valid username: %d to %d of A-Z a-z "
		          "0-9 _ . -",
		    t, VALID_USERNAME_MIN, VALID_USERNAME_MAX);
		return 1;
	}
	switch ((e = db_user_rename(db, from, to, &id))) {
	case CHAT_OK:
		break;
	case CHAT_ERR_NOTFOUND:
		log_warnx("no user is called \"%s\"", f);
		return 1;
	case CHAT_ERR_EXISTS:
		log_warnx(
		    "several users are called \"%s\" in other cases: give "
		    "the exact spelling (chat-admin clashes lists them)",
		    f);
		return 1;
	case CHAT_ERR_USERNAME_TAKEN:
		log_warnx(
		    "another account is called \"%s\" regardless of case", t);
		return 1;
	default:
		log_warnx("renaming failed: %s", chat_strerror(e));
		return 1;
	}
	printf("user %lld: renamed \"%s\" to \"%s\"\n", (long long)id, f, t);
	if (db_user_clashes(db, NULL, NULL, &n) != CHAT_OK)
		return 1;
	if (n > 0)
		printf("%zu accounts still share a username regardless of case "
		       "(chat-admin clashes)\n",
		    n);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = NULL, *cmd;
	struct db *db = NULL;
	struct priv priv;
	struct conf conf;
	int ch, verbose = 0, rc = 1;

	while ((ch = getopt(argc, argv, "c:v")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (path == NULL || argc < 1)
		usage();
	cmd = argv[0];
	if (!(strcmp(cmd, "rename-user") == 0 && argc == 3) &&
	    !(strcmp(cmd, "clashes") == 0 && argc == 1))
		usage();
	log_init("chat-admin", 1, verbose);

	conf_init(&conf);
	if (conf_load(&conf, path) == -1 ||
	    priv_init(&priv, conf.user, (int)conf.allow_root) == -1 ||
	    priv_drop(&priv) == -1)
		goto out;
	if ((db = db_open_admin(conf.database, (int)conf.busy_timeout)) == NULL)
		goto out;
	if (strcmp(cmd, "clashes") == 0)
		rc = admin_clashes(db);
	else
		rc = admin_rename(db, argv[1], argv[2]);
out:
	db_free(db);
	conf_finish(&conf);
	return rc;
}
