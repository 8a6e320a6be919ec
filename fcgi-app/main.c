/* SPDX-License-Identifier: ISC */
/*
 * chat-fcgi, the REST worker: a FastCGI responder on the socket inherited
 * as fd 0 (spawn-fcgi, multiwatch), one request at a time. It acquires the
 * configuration, the database, the JWT key and the bus, drops root and
 * enters the sandbox before it reads any client input, and it exits 0
 * after the request in progress when told to stop with SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "chat/bus.h"
#include "chat/db.h"
#include "chat/passwd.h"
#include "chat/token.h"
#include "common/conf.h"
#include "common/fault.h"
#include "common/log.h"
#include "common/priv.h"
#include "common/sandbox.h"
#include "req.h"
#include "route.h"
#include "route_media.h"

static volatile sig_atomic_t main_quit;

/*
 * SIGTERM, SIGINT and SIGUSR1: stop after the current request. The handler is
 * installed without SA_RESTART and libfcgi's accept() loop gives up on
 * EINTR once FCGX_ShutdownPending() was called, so an idle worker leaves
 * at once.
 */
static void
main_signal(int sig)
{
	(void)sig;
	main_quit = 1;
	FCGX_ShutdownPending();
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: chat-fcgi [-fnsv] -c file\n"
	    "       chat-fcgi -r\n"
	    "  -c file  the configuration file\n"
	    "  -f       log to stderr (the default)\n"
	    "  -n       check the configuration, then exit 0 or 1\n"
	    "  -r       print the route table (\"METHOD PATTERN\") and exit\n"
	    "  -s       log to syslog instead of stderr\n"
	    "  -v       verbose: log every request (log_debug)\n"
	    "The FastCGI socket is fd 0, as spawn-fcgi passes it.\n");
	exit(1);
}

/* Install the stop handlers and ignore SIGPIPE (a client gone early). */
static void
main_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: accept() must return */
	sa.sa_handler = main_signal;
	/* SIGUSR1 is how multiwatch asks its children to stop. */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGUSR1, &sa, NULL) == -1)
		fatal("sigaction");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("sigaction");
}

/* Serve requests on fd 0 until told to stop. Returns the exit status. */
static int
main_serve(struct app *app)
{
	char path[LOG_CLIENT_MAX * 4 + 8], method[LOG_CLIENT_MAX * 4 + 8];
	FCGX_Request fr;
	struct req *r;
	int rc = 0;

	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, 0, 0) != 0)
		fatalx("FCGX_Init failed");
	log_info("serving");
	while (!main_quit) {
		if (FCGX_Accept_r(&fr) < 0) {
			if (!main_quit) {
				log_warnx("FCGX_Accept_r failed: is fd 0 a "
				          "FastCGI socket (spawn-fcgi)?");
				rc = 1;
			}
			break;
		}
		r = req_new(app, &fr);
		route_dispatch(r);
		/*
		 * A route that returns inside a transaction is a bug; rolling
		 * it back keeps the write lock from outliving the request.
		 */
		if (db_in_txn(app->db)) {
			log_warnx(
			    "%s: a route left a transaction open", __func__);
			db_rollback(app->db);
		}
		req_send(r);
		/* Both come from the client: escaped and cut. */
		log_escape(
		    method, sizeof(method), r->method, strlen(r->method));
		log_escape(path, sizeof(path), r->path, strlen(r->path));
		log_debug("%s %s %d", method, path, r->status);
		if (r->status >= 500)
			log_info("%s %s %d", method, path, r->status);
		req_free(r);
		FCGX_Finish_r(&fr);
	}
	FCGX_Free(&fr, 1);
	log_info("exiting");
	return rc;
}

int
main(int argc, char *argv[])
{
	struct app app;
	struct priv priv;
	const char *path = NULL;
	int ch, check = 0, fg = 1, verbose = 0, rc;

	memset(&app, 0, sizeof(app));
	while ((ch = getopt(argc, argv, "c:fnrsv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 'n':
			check = 1;
			break;
		case 'r':
			route_list(stdout);
			return 0;
		case 's':
			fg = 0;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || path == NULL)
		usage();
	log_init("chat-fcgi", fg, verbose);

	conf_init(&app.conf);
	if (conf_load(&app.conf, path) == -1) {
		conf_finish(&app.conf);
		return 1;
	}
	if (check) {
		conf_finish(&app.conf);
		fprintf(stderr, "%s: configuration OK\n", path);
		return 0;
	}
	/* Root only with a user to become (or allow_root): lib/common/priv.h.
	 */
	if (priv_init(&priv, app.conf.user, (int)app.conf.allow_root) == -1) {
		conf_finish(&app.conf);
		return 1;
	}
	fault_init();
	if ((app.db = db_open(app.conf.database, (int)app.conf.busy_timeout)) ==
	    NULL)
		fatalx("cannot open the database");
	if (token_key_load(&app.key, app.conf.secret_file) == -1)
		fatalx("cannot load the token key");
	if (route_media_init(&app.conf, app.db) == -1)
		fatalx("cannot open the media store");
	if (passwd_init() == -1)
		fatalx("cannot initialise password hashing");
	if ((app.bus = bus_new(app.conf.bus_events, app.conf.bus_query)) ==
	    NULL)
		fatalx("cannot set up the bus");
	if (priv_db_chown(&priv, app.conf.database) == -1 ||
	    priv_drop(&priv) == -1)
		fatalx("cannot drop privileges");
	if (sandbox_enter("chat-fcgi") == -1)
		fatalx("cannot enter the sandbox");
	main_signals();

	rc = main_serve(&app);

	route_media_finish();
	bus_free(app.bus);
	token_key_finish(&app.key);
	db_free(app.db);
	conf_finish(&app.conf);
	return rc;
}
