/* SPDX-License-Identifier: ISC */
/*
 * Unit tests for lib/chat/bus.c and lib/chat/presence.c against a stand-in
 * daemon: a PULL and a ROUTER bound on ipc:// endpoints in a fresh directory,
 * the ROUTER served by a thread that answers as a test case configures it.
 * Timing is only checked against generous bounds, never tightly.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "chat/bus.h"
#include "chat/presence.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "unit.h"

/* What the stand-in daemon does with a query other than "ping". */
enum mode {
	MODE_CANNED, /* answer with "canned" at once */
	MODE_STALE,  /* hold the 1st query; on the 2nd, answer 1st then 2nd */
	MODE_SILENT  /* never answer */
};

struct router {
	void *sock;
	pthread_t thread;
	atomic_int stop;
	pthread_mutex_t mu;
	enum mode mode;   /* under mu */
	char canned[512]; /* under mu */
	char last[512];   /* under mu: the last query payload seen */
	/* MODE_STALE: the held query (router thread only). */
	unsigned char held_id[256], held_qid[8];
	size_t held_idlen;
	int held;
};

static char dir[64];
static char *ev_path, *q_url;
static void *tctx, *pull;
static struct router rt;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Send [id, qid, body] from the ROUTER. */
static void
router_send(const void *id, size_t idlen, const void *qid, size_t qidlen,
    const void *body, size_t len)
{
	ck_assert_int_ge(zmq_send(rt.sock, id, idlen, ZMQ_SNDMORE), 0);
	if (qid != NULL)
		ck_assert_int_ge(
		    zmq_send(rt.sock, qid, qidlen, ZMQ_SNDMORE), 0);
	ck_assert_int_ge(zmq_send(rt.sock, body, len, 0), 0);
}

/* Answer one received query [id, qid, payload] as the mode says. */
static void
router_handle(const unsigned char *id, size_t idlen, const unsigned char *qid,
    size_t qidlen, const char *payload)
{
	char canned[512];
	enum mode mode;

	pthread_mutex_lock(&rt.mu);
	if (strcmp(payload, "ping") != 0)
		snprintf(rt.last, sizeof(rt.last), "%s", payload);
	mode = rt.mode;
	memcpy(canned, rt.canned, sizeof(canned));
	pthread_mutex_unlock(&rt.mu);

	if (strcmp(payload, "ping") == 0)
		router_send(id, idlen, qid, qidlen, "pong", 4);
	else if (strcmp(payload, "nul") == 0)
		router_send(id, idlen, qid, qidlen, "a\0b", 3);
	else if (strcmp(payload, "single") == 0) {
		/* A one-frame message first, then the real answer. */
		router_send(id, idlen, NULL, 0, "junk", 4);
		router_send(id, idlen, qid, qidlen, "ok", 2);
	} else if (mode == MODE_CANNED)
		router_send(id, idlen, qid, qidlen, canned, strlen(canned));
	else if (mode == MODE_STALE && !rt.held) {
		ck_assert_uint_le(idlen, sizeof(rt.held_id));
		ck_assert_uint_eq(qidlen, sizeof(rt.held_qid));
		memcpy(rt.held_id, id, idlen);
		memcpy(rt.held_qid, qid, qidlen);
		rt.held_idlen = idlen;
		rt.held = 1;
	} else if (mode == MODE_STALE) {
		router_send(rt.held_id, rt.held_idlen, rt.held_qid,
		    sizeof(rt.held_qid), "r1", 2);
		router_send(id, idlen, qid, qidlen, "r2", 2);
	}
}

/* The stand-in daemon's query loop, until rt.stop is set. */
static void *
router_main(void *arg)
{
	(void)arg;
	while (!atomic_load(&rt.stop)) {
		zmq_pollitem_t pi = {rt.sock, -1, ZMQ_POLLIN, 0};
		zmq_msg_t m[3];
		int i, n = 0, more = 1;
		size_t sz;

		if (zmq_poll(&pi, 1, 20) <= 0)
			continue;
		for (i = 0; i < 3; i++)
			zmq_msg_init(&m[i]);
		while (more && n < 3) {
			ck_assert_int_ge(zmq_msg_recv(&m[n], rt.sock, 0), 0);
			n++;
			sz = sizeof(more);
			zmq_getsockopt(rt.sock, ZMQ_RCVMORE, &more, &sz);
		}
		ck_assert_int_eq(n, 3); /* [identity, qid, payload] */
		ck_assert_int_eq(more, 0);
		{
			char *payload =
			    xstrndup(zmq_msg_data(&m[2]), zmq_msg_size(&m[2]));

			router_handle(zmq_msg_data(&m[0]), zmq_msg_size(&m[0]),
			    zmq_msg_data(&m[1]), zmq_msg_size(&m[1]), payload);
			free(payload);
		}
		for (i = 0; i < 3; i++)
			zmq_msg_close(&m[i]);
	}
	return NULL;
}

static void
router_set(enum mode mode, const char *canned)
{
	pthread_mutex_lock(&rt.mu);
	rt.mode = mode;
	snprintf(rt.canned, sizeof(rt.canned), "%s", canned);
	pthread_mutex_unlock(&rt.mu);
}

static void
dir_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test-bus.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ev_path = xasprintf("%s/events", dir); /* a plain path */
	q_url = xasprintf("ipc://%s/query", dir);
}

static void
dir_teardown(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(ev_path);
	free(q_url);
}

/* Bind the stand-in daemon and start its query thread. */
static void
daemon_setup(void)
{
	char *ev_url;
	int zero = 0;

	dir_setup();
	ev_url = xasprintf("ipc://%s", ev_path);
	ck_assert_ptr_nonnull(tctx = zmq_ctx_new());
	ck_assert_ptr_nonnull(pull = zmq_socket(tctx, ZMQ_PULL));
	ck_assert_ptr_nonnull(rt.sock = zmq_socket(tctx, ZMQ_ROUTER));
	zmq_setsockopt(pull, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(rt.sock, ZMQ_LINGER, &zero, sizeof(zero));
	ck_assert_int_eq(zmq_bind(pull, ev_url), 0);
	ck_assert_int_eq(zmq_bind(rt.sock, q_url), 0);
	free(ev_url);
	atomic_store(&rt.stop, 0);
	pthread_mutex_init(&rt.mu, NULL);
	rt.held = 0;
	rt.last[0] = '\0';
	router_set(MODE_CANNED, "{}");
	ck_assert_int_eq(
	    pthread_create(&rt.thread, NULL, router_main, NULL), 0);
}

static void
daemon_teardown(void)
{
	atomic_store(&rt.stop, 1);
	pthread_join(rt.thread, NULL);
	zmq_close(pull);
	zmq_close(rt.sock);
	zmq_ctx_term(tctx);
	pthread_mutex_destroy(&rt.mu);
	dir_teardown();
}

/* Receive one event from the PULL within "ms"; a new string or NULL. */
static char *
pull_recv(int ms)
{
	zmq_pollitem_t pi = {pull, -1, ZMQ_POLLIN, 0};
	char buf[BUS_MSG_MAX];
	int n;

	if (zmq_poll(&pi, 1, ms) <= 0)
		return NULL;
	n = zmq_recv(pull, buf, sizeof(buf), ZMQ_DONTWAIT);
	ck_assert_int_ge(n, 0);
	return xstrndup(buf, (size_t)n);
}

/* Sleep "ms" milliseconds. */
static void
sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * With ZMQ_IMMEDIATE a query fails at once until the connection is up:
 * query "ping" until the stand-in answers, so the DEALER side is connected.
 */
static void
bus_wait_ready(struct bus *b)
{
	char *r = NULL;
	int i;

	for (i = 0; i < 200 && r == NULL; i++) {
		r = bus_query(b, "ping", 4, 100);
		if (r == NULL)
			sleep_ms(10);
	}
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r, "pong");
	free(r);
}

START_TEST(publish_exact_json)
{
	static const char want_msg[] =
	    "{\"type\":\"message\",\"room_id\":\"7\",\"id\":\"12345\"}";
	static const char want_max[] =
	    "{\"type\":\"message\",\"room_id\":\"9223372036854775807\","
	    "\"id\":\"9223372036854775807\"}";
	struct bus *b = bus_new(ev_path, q_url);
	char *got = NULL;
	int i;

	ck_assert_ptr_nonnull(b);
	/* Resend until the PUSH side is connected and one arrives. */
	for (i = 0; i < 100 && got == NULL; i++) {
		bus_publish_message(b, 7, 12345);
		got = pull_recv(50);
	}
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want_msg);
	free(got);
	/* Connected now: each event arrives once, in order. */
	bus_publish_room(b, 9);
	bus_publish_message(b, INT64_MAX, INT64_MAX);
	while ((got = pull_recv(2000)) != NULL && strcmp(got, want_msg) == 0)
		free(got); /* a duplicate from the connection loop */
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, "{\"type\":\"room\",\"room_id\":\"9\"}");
	free(got);
	got = pull_recv(2000);
	ck_assert_ptr_nonnull(got);
	ck_assert_str_eq(got, want_max);
	free(got);
	bus_free(b);
}
END_TEST

START_TEST(presence_mapping)
{
	static const int64_t uids[] = {1, 2, 3, 4, INT64_MAX};
	int online[5] = {1, 0, 0, 1, 0};
	struct bus *b = bus_new(ev_path, q_url);

	ck_assert_ptr_nonnull(b);
	bus_wait_ready(b);
	router_set(MODE_CANNED,
	    "{\"online\":[\"2\",\"3\",\"99\",\"9223372036854775807\"]}");
	presence_online(b, uids, 5, online, 2000);
	ck_assert_int_eq(online[0], 0);
	ck_assert_int_eq(online[1], 1);
	ck_assert_int_eq(online[2], 1);
	ck_assert_int_eq(online[3], 0);
	ck_assert_int_eq(online[4], 1);
	pthread_mutex_lock(&rt.mu);
	ck_assert_str_eq(rt.last,
	    "{\"type\":\"online\",\"users\":[\"1\",\"2\","
	    "\"3\",\"4\",\"9223372036854775807\"]}");
	pthread_mutex_unlock(&rt.mu);
	bus_free(b);
}
END_TEST

START_TEST(presence_malformed)
{
	static const char *bad[] = {"not json", "[\"2\"]", "{\"online\":\"2\"}",
	    "{\"online\":[2]}", "{\"online\":[\"2\",3]}",
	    "{\"online\":[\"1\"],\"online\":[\"2\"]}", "{\"online\":[\"02\"]}",
	    "{\"online\":[\"+2\"]}", "{\"online\":[\"2 \"]}", "{}", "\"2\""};
	static const int64_t uids[] = {1, 2};
	int online[2];
	struct bus *b = bus_new(ev_path, q_url);
	size_t i;

	ck_assert_ptr_nonnull(b);
	bus_wait_ready(b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		router_set(MODE_CANNED, bad[i]);
		online[0] = online[1] = 1;
		presence_online(b, uids, 2, online, 2000);
		ck_assert_msg(online[0] == 0 && online[1] == 0,
		    "reply %s marked someone online", bad[i]);
	}
	/* The same bus still works after all that. */
	router_set(MODE_CANNED, "{\"online\":[\"1\"]}");
	presence_online(b, uids, 2, online, 2000);
	ck_assert_int_eq(online[0], 1);
	ck_assert_int_eq(online[1], 0);
	bus_free(b);
}
END_TEST

START_TEST(query_stale_reply_dropped)
{
	struct bus *b = bus_new(ev_path, q_url);
	char *r;

	ck_assert_ptr_nonnull(b);
	bus_wait_ready(b);
	router_set(MODE_STALE, "");
	/* The first query times out: the daemon holds it. */
	ck_assert_ptr_null(bus_query(b, "q1", 2, 100));
	/* Its late answer "r1" arrives first and must be skipped. */
	r = bus_query(b, "q2", 2, 2000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r, "r2");
	free(r);
	bus_free(b);
}
END_TEST

START_TEST(query_odd_replies)
{
	struct bus *b = bus_new(ev_path, q_url);
	char big[BUS_MSG_MAX + 2], *r;
	double t;

	ck_assert_ptr_nonnull(b);
	bus_wait_ready(b);
	/* A one-frame message is skipped, the real answer kept. */
	r = bus_query(b, "single", 6, 2000);
	ck_assert_ptr_nonnull(r);
	ck_assert_str_eq(r, "ok");
	free(r);
	/* A reply with a NUL inside is no string: dropped. */
	ck_assert_ptr_null(bus_query(b, "nul", 3, 200));
	/* Silence: NULL after about the timeout. */
	router_set(MODE_SILENT, "");
	t = now_s();
	ck_assert_ptr_null(bus_query(b, "x", 1, 50));
	t = now_s() - t;
	ck_assert(t >= 0.04);
	ck_assert(t < 2.0);
	/* Larger than the daemon accepts: refused before sending. */
	memset(big, 'x', sizeof(big));
	ck_assert_ptr_null(bus_query(b, big, BUS_MSG_MAX + 1, 50));
	bus_free(b);
}
END_TEST

START_TEST(no_daemon)
{
	static const int64_t uids[] = {1, 2, 3};
	int online[3] = {1, 1, 1}, i;
	struct bus *b = bus_new(ev_path, q_url);
	double t;

	ck_assert_ptr_nonnull(b); /* connecting needs no peer */
	t = now_s();
	for (i = 0; i < 1000; i++) {
		bus_publish_message(b, 1, i + 1);
		bus_publish_room(b, 1);
	}
	ck_assert(now_s() - t < 2.0);
	t = now_s();
	presence_online(b, uids, 3, online, 50);
	ck_assert(now_s() - t < 2.0);
	ck_assert_int_eq(online[0] + online[1] + online[2], 0);
	ck_assert_ptr_null(bus_query(b, "ping", 4, 50));
	bus_free(b);
}
END_TEST

START_TEST(bad_endpoints)
{
	static const int64_t uids[] = {1};
	int online[1] = {1};

	ck_assert_ptr_null(bus_new("", q_url));
	ck_assert_ptr_null(bus_new(ev_path, ""));
	ck_assert_ptr_null(bus_new(NULL, q_url));
	ck_assert_ptr_null(bus_new("inproc://x", q_url));
	ck_assert_ptr_null(bus_new(ev_path, "udp://127.0.0.1:1"));
	ck_assert_ptr_null(bus_new("tcp://", q_url));
	bus_free(NULL);
	/* No bus at all: events vanish, everyone is offline. */
	bus_publish_message(NULL, 1, 1);
	bus_publish_room(NULL, 1);
	ck_assert_ptr_null(bus_query(NULL, "x", 1, 50));
	presence_online(NULL, uids, 1, online, 50);
	ck_assert_int_eq(online[0], 0);
}
END_TEST

static Suite *
bus_suite(void)
{
	Suite *s = suite_create("bus");
	TCase *td = tcase_create("daemon");
	TCase *tn = tcase_create("nodaemon");

	tcase_set_timeout(td, 30);
	tcase_add_checked_fixture(td, daemon_setup, daemon_teardown);
	tcase_add_test(td, publish_exact_json);
	tcase_add_test(td, presence_mapping);
	tcase_add_test(td, presence_malformed);
	tcase_add_test(td, query_stale_reply_dropped);
	tcase_add_test(td, query_odd_replies);
	suite_add_tcase(s, td);
	tcase_set_timeout(tn, 30);
	tcase_add_checked_fixture(tn, dir_setup, dir_teardown);
	tcase_add_test(tn, no_daemon);
	tcase_add_test(tn, bad_endpoints);
	suite_add_tcase(s, tn);
	return s;
}

int
main(void)
{
	log_init("test-bus", 1, getenv("TEST_VERBOSE") != NULL);
	return unit_run(bus_suite());
}
