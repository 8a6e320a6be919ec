/* SPDX-License-Identifier: ISC */
/*
 * The one configuration file shared by the workers and the push daemon:
 * "key value" lines, "#" comments, every key described in one table
 * (conf.c) and documented in etc/chat.conf.sample. Parsing never touches
 * anything but the file named.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

struct conf {
	/* Paths and endpoints. */
	char *database;    /* SQLite file */
	char *media_dir;   /* uploaded files */
	char *secret_file; /* JWT HMAC key, >= 32 bytes, mode 0400 */
	char *fcgi_socket; /* Unix socket the workers accept on */
	char *push_socket; /* Unix socket the daemon serves HTTP on */
	char *bus_events;  /* ZeroMQ endpoint: workers PUSH, daemon PULLs */
	char *bus_query;   /* ZeroMQ endpoint: DEALER -> daemon's ROUTER */

	/* Privileges (lib/common/priv.h). */
	char *user;         /* service user to become when started as root */
	int64_t allow_root; /* 1: root without "user" may serve (dev only) */

	/* Tokens and storage. */
	int64_t token_lifetime;   /* seconds */
	int64_t token_leeway;     /* seconds of clock skew tolerated */
	int64_t busy_timeout;     /* ms SQLite waits for a lock */
	int64_t presence_timeout; /* ms a worker waits for the daemon */

	/* Limits (docs/api.md section 5). */
	int64_t body_max;         /* JSON request body, bytes */
	int64_t upload_max;       /* one upload, bytes */
	int64_t upload_parts_max; /* multipart parts per request */
	int64_t auth_addr_limit;  /* 1: enforce per-address auth limit here */
	int64_t auth_burst;       /* per address */
	double auth_rate;         /* per address, per second */
	int64_t login_fail_max;   /* failed logins, account+address, a min */
	int64_t msg_burst;        /* per user */
	double msg_rate;          /* per user, per second */
	int64_t upload_burst;     /* per user */
	double upload_rate;       /* per user, per second */
	int64_t catchup_max;      /* messages replayed on connect */
	char *upload_types;       /* space-separated MIME allowlist */
	/* Failed logins of an account from every address, an hour. */
	int64_t login_fail_account_max;

	/* Rooms: every room of a user is loaded at their socket's CONNECT. */
	int64_t rooms_per_user_max; /* rooms a user may be in to join more */
	int64_t room_members_max;   /* members of a new room, creator too */
	/* Rooms created and members named per user; rates per second. */
	int64_t room_create_burst;
	double room_create_rate;
	int64_t members_named_burst;
	double members_named_rate;

	/* Push daemon. */
	int64_t ping_interval; /* ms */
	int64_t ping_timeout;  /* ms */
	int64_t max_payload;   /* bytes per Engine.IO payload */
	int64_t max_connections;
	int64_t max_connections_per_addr; /* per client address */
	int64_t sockets_per_user_max;     /* Socket.IO sockets per user */
	int64_t send_queue_max;           /* bytes queued per connection */
	int64_t handshake_timeout; /* ms to finish the HTTP request/upgrade */
	int64_t ws_frame_burst;    /* WebSocket frames per connection */
	double ws_frame_rate;      /* ... then per second */
	char *cors_origins;        /* space-separated extra allowed origins */
	char *push_listen_tcp;     /* "ip:port" also served on, or "" (bench) */
};

/* Fill "c" with the built-in defaults (every string heap-allocated). */
void conf_init(struct conf *c);

/*
 * Read "path" into "c", which conf_init() filled. Returns 0, or -1 after
 * logging "path:line: reason" for the first unknown key, bad value or
 * unreadable file; "c" may then hold some parsed values and must still be
 * released with conf_finish().
 */
int conf_load(struct conf *c, const char *path);

/* Release the strings of "c". */
void conf_finish(struct conf *c);

/*
 * The name of the "i"-th key of the table, or NULL past the last one: lets
 * the tests check that etc/chat.conf.sample documents every key.
 */
const char *conf_key_name(size_t i);

#endif
