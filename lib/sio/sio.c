/* SPDX-License-Identifier: ISC */
/*
 * Socket.IO v5 over Engine.IO sessions, as the socket.io server 4.x
 * behaves with connection-state recovery off: one struct sio_client per
 * session, one struct sio_socket per namespace joined, rooms and user
 * lists as int64-keyed hash tables. Decoding errors close the session;
 * the application only ever sees validated events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/htab.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "sio/sio.h"
#include "sio/sio_codec.h"
#include "sio/timeq.h"

struct sio_member;

struct sio_room {
	struct htab_ent h;
	struct sio_member *head;
	size_t n;
};

struct sio_user {
	struct htab_ent h;
	struct sio_socket *head;
	size_t n;
};

/* Membership of one socket in one room: in both of their lists. */
struct sio_member {
	struct sio_room *room;
	struct sio_socket *sock;
	struct sio_member *rprev, *rnext; /* the room's members */
	struct sio_member *snext;         /* the socket's rooms */
};

struct sio_nsp {
	struct sio *srv;
	struct sio_nsp *next;
	struct htab rooms;
	char name[SIO_NSP_MAX + 1];
};

struct sio_client;

struct sio_socket {
	struct sio_client *client;
	struct sio_nsp *nsp;
	struct sio_socket *cnext;         /* the client's sockets */
	struct sio_socket *uprev, *unext; /* the user's sockets */
	struct sio_member *rooms;
	int64_t user;
	void *data;
	char id[EIO_SID_LEN + 1];
};

/* A binary packet waiting for its attachments. */
struct sio_pending {
	struct sio_packet pkt;
	size_t n;
	struct sio_bin bins[SIO_ATTACH_MAX];
};

struct sio_client {
	struct sio *srv;
	struct eio_sess *sess;
	struct sio_socket *socks;
	struct sio_pending *pend;
	char *hs_query, *hs_auth; /* until the first accepted CONNECT */
	struct timeq_ent tq;      /* CONNECT deadline */
};

struct sio {
	struct eio *eio;
	uv_loop_t *loop;
	struct sio_ops ops;
	void *app;
	struct sio_nsp *nsps;
	struct htab users;
	struct timeq connq;
	uv_timer_t conn_timer;
};

struct sio_msg {
	struct http_buf *b;
};

/* Encode "p" and queue it, then its attachments, on "cl". */
static void
sio_client_send(struct sio_client *cl, const struct sio_packet *p,
    const struct sio_bin *bins, size_t nbins)
{
	struct http_buf *m;
	size_t len, i;
	char *str;

	str = sio_packet_encode(p, 0, &len);
	m = eio_msg_new(0, str, len);
	eio_sess_send(cl->sess, m);
	http_buf_unref(m);
	free(str);
	for (i = 0; i < nbins; i++) {
		m = eio_msg_new(1, bins[i].data, bins[i].len);
		eio_sess_send(cl->sess, m);
		http_buf_unref(m);
	}
}

/* Queue a packet of "type" for "nsp" with "data" (borrowed) and no ack. */
static void
sio_client_send_simple(
    struct sio_client *cl, int type, const char *nsp, json_t *data)
{
	struct sio_packet p;

	memset(&p, 0, sizeof(p));
	p.type = type;
	p.ack = -1;
	snprintf(p.nsp, sizeof(p.nsp), "%s", nsp);
	p.data = data;
	sio_client_send(cl, &p, NULL, 0);
}

/* The socket of "cl" in namespace "name", or NULL. */
static struct sio_socket *
sio_client_socket(const struct sio_client *cl, const char *name)
{
	struct sio_socket *s;

	for (s = cl->socks; s != NULL; s = s->cnext)
		if (strcmp(s->nsp->name, name) == 0)
			return s;
	return NULL;
}

/*
 * Unlink "s" from its client, rooms and user, tell the application why,
 * and free it.
 */
static void
sio_socket_remove(struct sio_socket *s, const char *reason)
{
	struct sio *srv = s->nsp->srv;
	struct sio_socket **pp;
	struct sio_user *u;

	for (pp = &s->client->socks; *pp != NULL; pp = &(*pp)->cnext)
		if (*pp == s) {
			*pp = s->cnext;
			break;
		}
	while (s->rooms != NULL)
		sio_room_leave(s, s->rooms->room->h.key);
	if (s->user != 0 &&
	    (u = (struct sio_user *)htab_get(&srv->users, s->user)) != NULL) {
		if (s->uprev != NULL)
			s->uprev->unext = s->unext;
		else
			u->head = s->unext;
		if (s->unext != NULL)
			s->unext->uprev = s->uprev;
		if (--u->n == 0) {
			htab_del(&srv->users, &u->h);
			free(u);
		}
	}
	if (srv->ops.disconnect != NULL)
		srv->ops.disconnect(srv->app, s, reason);
	free(s);
}

/* A CONNECT for "p->nsp" from "cl". */
static void
sio_client_connect(struct sio_client *cl, struct sio_packet *p)
{
	struct sio *srv = cl->srv;
	struct sio_handshake hs = {
	    cl->hs_query != NULL ? cl->hs_query : "", cl->hs_auth};
	struct sio_nsp *nsp = sio_nsp_find(srv, p->nsp);
	struct sio_socket *s;
	json_t *auth, *refusal = NULL, *reply;
	uint8_t rnd[15];

	if (nsp == NULL) {
		reply = json_pack("{s:s}", "message", "Invalid namespace");
		sio_client_send_simple(cl, SIO_CONNECT_ERROR, p->nsp, reply);
		json_decref(reply);
		return;
	}
	if (sio_client_socket(cl, p->nsp) != NULL)
		return; /* already connected there */
	auth = p->data != NULL ? json_incref(p->data) : json_object();
	s = xcalloc(1, sizeof(*s));
	s->client = cl;
	s->nsp = nsp;
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(s->id, sizeof(s->id), rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if (srv->ops.connect != NULL &&
	    srv->ops.connect(srv->app, s, auth, &hs, &refusal) != 0) {
		if (refusal == NULL)
			refusal = json_pack("{s:s}", "message", "refused");
		sio_client_send_simple(cl, SIO_CONNECT_ERROR, p->nsp, refusal);
		json_decref(refusal);
		json_decref(auth);
		free(s);
		return;
	}
	s->cnext = cl->socks;
	cl->socks = s;
	timeq_del(&cl->tq);
	free(cl->hs_query);
	free(cl->hs_auth);
	cl->hs_query = cl->hs_auth = NULL;
	reply = json_pack("{s:s}", "sid", s->id);
	sio_client_send_simple(cl, SIO_CONNECT, p->nsp, reply);
	json_decref(reply);
	if (srv->ops.connected != NULL)
		srv->ops.connected(srv->app, s, auth);
	json_decref(auth);
}

/* Act on the decoded packet "p" of "cl" with its attachments. */
static void
sio_client_dispatch(struct sio_client *cl, struct sio_packet *p,
    const struct sio_bin *bins, size_t nbins)
{
	struct sio *srv = cl->srv;
	struct sio_socket *s;

	if (p->type == SIO_CONNECT) {
		sio_client_connect(cl, p);
		return;
	}
	if ((s = sio_client_socket(cl, p->nsp)) == NULL)
		return; /* not connected there: ignored, as socket.io does */
	switch (p->type) {
	case SIO_DISCONNECT:
		sio_socket_remove(s, "client namespace disconnect");
		break;
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		srv->ops.event(srv->app, s, p->data, p->ack, bins, nbins);
		break;
	default:
		break; /* acks: the server requests none */
	}
}

/* Drop the binary packet "cl" was collecting. */
static void
sio_client_pending_free(struct sio_client *cl)
{
	size_t i;

	if (cl->pend == NULL)
		return;
	for (i = 0; i < cl->pend->n; i++)
		free((void *)(uintptr_t)cl->pend->bins[i].data);
	sio_packet_finish(&cl->pend->pkt);
	free(cl->pend);
	cl->pend = NULL;
}

/* eio callback: a message of session "es". */
static void
sio_on_message(
    void *arg, struct eio_sess *es, int binary, uint8_t *data, size_t len)
{
	struct sio_client *cl = eio_sess_data(es);
	struct sio_pending *pd = cl->pend;
	struct sio_packet p;
	uint8_t *copy;

	(void)arg;
	if (binary) {
		if (pd == NULL) {
			eio_sess_close(es); /* binary data out of place */
			return;
		}
		copy = xmalloc(len + 1);
		memcpy(copy, data, len);
		pd->bins[pd->n].data = copy;
		pd->bins[pd->n++].len = len;
		if (pd->n == (size_t)pd->pkt.attachments) {
			sio_client_dispatch(cl, &pd->pkt, pd->bins, pd->n);
			sio_client_pending_free(cl);
		}
		return;
	}
	if (pd != NULL || sio_packet_decode(&p, (const char *)data, len) != 0) {
		log_debug("%s: %s: malformed packet, closing", __func__,
		    eio_sess_sid(es));
		eio_sess_close(es);
		return;
	}
	if (p.attachments > 0) {
		cl->pend = xcalloc(1, sizeof(*cl->pend));
		cl->pend->pkt = p;
		return;
	}
	sio_client_dispatch(cl, &p, NULL, 0);
	sio_packet_finish(&p);
}

static void
sio_conn_timer_cb(uv_timer_t *t)
{
	struct sio *srv = t->data;
	struct timeq_ent *q;
	struct sio_client *cl;
	uint64_t now = uv_now(srv->loop), next;

	while ((q = timeq_pop(&srv->connq, now)) != NULL) {
		cl = (struct sio_client *)((char *)q -
		    offsetof(struct sio_client, tq));
		eio_sess_close(cl->sess);
	}
	if ((next = timeq_next(&srv->connq)) != UINT64_MAX)
		uv_timer_start(t, sio_conn_timer_cb, next - now, 0);
}

/* eio callback: a session opened. */
static void
sio_on_open(void *arg, struct eio_sess *es, const struct eio_handshake *hs)
{
	struct sio *srv = arg;
	struct sio_client *cl = xcalloc(1, sizeof(*cl));

	cl->srv = srv;
	cl->sess = es;
	cl->hs_query = xstrdup(hs->query);
	cl->hs_auth =
	    hs->authorization != NULL ? xstrdup(hs->authorization) : NULL;
	eio_sess_set_data(es, cl);
	if (timeq_add(&srv->connq, &cl->tq, uv_now(srv->loop)))
		uv_timer_start(
		    &srv->conn_timer, sio_conn_timer_cb, srv->connq.delay, 0);
}

/* eio callback: a session closed: every socket of it leaves. */
static void
sio_on_close(void *arg, struct eio_sess *es, const char *reason)
{
	struct sio_client *cl = eio_sess_data(es);

	(void)arg;
	while (cl->socks != NULL)
		sio_socket_remove(cl->socks, reason);
	sio_client_pending_free(cl);
	timeq_del(&cl->tq);
	free(cl->hs_query);
	free(cl->hs_auth);
	free(cl);
}

static void
sio_on_turn(void *arg)
{
	struct sio *srv = arg;

	if (srv->ops.turn != NULL)
		srv->ops.turn(srv->app);
}

struct sio *
sio_new(uv_loop_t *loop, const struct eio_conf *conf, const struct sio_ops *ops,
    void *app)
{
	static const struct eio_cbs cbs = {
	    sio_on_open, sio_on_message, sio_on_close, sio_on_turn};
	struct sio *srv = xcalloc(1, sizeof(*srv));

	srv->loop = loop;
	srv->ops = *ops;
	srv->app = app;
	timeq_init(&srv->connq, SIO_CONNECT_TIMEOUT);
	if (uv_timer_init(loop, &srv->conn_timer) != 0)
		abort();
	srv->conn_timer.data = srv;
	sio_nsp_add(srv, "/");
	srv->eio = eio_new(loop, conf, &cbs, srv);
	return srv;
}

struct eio *
sio_eio(struct sio *srv)
{
	return srv->eio;
}

void
sio_stop(struct sio *srv)
{
	eio_stop(srv->eio);
	uv_close((uv_handle_t *)&srv->conn_timer, NULL);
}

void
sio_free(struct sio *srv)
{
	struct sio_nsp *nsp;

	if (srv == NULL)
		return;
	eio_free(srv->eio);
	while ((nsp = srv->nsps) != NULL) {
		srv->nsps = nsp->next;
		htab_finish(&nsp->rooms, NULL);
		free(nsp);
	}
	htab_finish(&srv->users, NULL);
	free(srv);
}

struct sio_nsp *
sio_nsp_add(struct sio *srv, const char *name)
{
	struct sio_nsp *nsp = sio_nsp_find(srv, name);

	if (nsp != NULL)
		return nsp;
	if (strlen(name) > SIO_NSP_MAX)
		abort();
	nsp = xcalloc(1, sizeof(*nsp));
	nsp->srv = srv;
	strcpy(nsp->name, name);
	nsp->next = srv->nsps;
	srv->nsps = nsp;
	return nsp;
}

struct sio_nsp *
sio_nsp_find(struct sio *srv, const char *name)
{
	struct sio_nsp *nsp;

	for (nsp = srv->nsps; nsp != NULL; nsp = nsp->next)
		if (strcmp(nsp->name, name) == 0)
			return nsp;
	return NULL;
}

void *
sio_socket_data(const struct sio_socket *s)
{
	return s->data;
}

void
sio_socket_set_data(struct sio_socket *s, void *data)
{
	s->data = data;
}

void
sio_socket_set_user(struct sio_socket *s, int64_t uid)
{
	struct sio *srv = s->nsp->srv;
	struct sio_user *u;

	if (s->user != 0 || uid <= 0)
		abort(); /* a bug in the application */
	u = (struct sio_user *)htab_get(&srv->users, uid);
	if (u == NULL) {
		u = xcalloc(1, sizeof(*u));
		u->h.key = uid;
		htab_put(&srv->users, &u->h);
	}
	s->user = uid;
	s->uprev = NULL;
	s->unext = u->head;
	if (u->head != NULL)
		u->head->uprev = s;
	u->head = s;
	u->n++;
}

int64_t
sio_socket_user(const struct sio_socket *s)
{
	return s->user;
}

struct sio_socket *
sio_user_first(struct sio *srv, int64_t uid)
{
	struct sio_user *u = (struct sio_user *)htab_get(&srv->users, uid);

	return u != NULL ? u->head : NULL;
}

struct sio_socket *
sio_user_next(const struct sio_socket *s)
{
	return s->unext;
}

size_t
sio_user_count(struct sio *srv, int64_t uid)
{
	struct sio_user *u = (struct sio_user *)htab_get(&srv->users, uid);

	return u != NULL ? u->n : 0;
}

/* Send an EVENT or ACK with "args" (borrowed) and attachments. */
static void
sio_socket_send(struct sio_socket *s, int type, int64_t ack, json_t *args,
    const struct sio_bin *bins, size_t nbins)
{
	struct sio_packet p;

	memset(&p, 0, sizeof(p));
	p.type = nbins > 0 ? type + (SIO_BINARY_EVENT - SIO_EVENT) : type;
	p.attachments = (int)nbins;
	p.ack = ack;
	strcpy(p.nsp, s->nsp->name);
	p.data = args;
	sio_client_send(s->client, &p, bins, nbins);
}

void
sio_emit(struct sio_socket *s, json_t *args, const struct sio_bin *bins,
    size_t nbins)
{
	sio_socket_send(s, SIO_EVENT, -1, args, bins, nbins);
}

void
sio_ack(struct sio_socket *s, int64_t ack, json_t *args,
    const struct sio_bin *bins, size_t nbins)
{
	sio_socket_send(s, SIO_ACK, ack, args, bins, nbins);
}

void
sio_socket_disconnect(struct sio_socket *s)
{
	sio_client_send_simple(s->client, SIO_DISCONNECT, s->nsp->name, NULL);
	sio_socket_remove(s, "server namespace disconnect");
}

void
sio_room_join(struct sio_socket *s, int64_t room)
{
	struct htab *t = &s->nsp->rooms;
	struct sio_room *r = (struct sio_room *)htab_get(t, room);
	struct sio_member *m;

	if (r == NULL) {
		r = xcalloc(1, sizeof(*r));
		r->h.key = room;
		htab_put(t, &r->h);
	}
	for (m = s->rooms; m != NULL; m = m->snext)
		if (m->room == r)
			return;
	m = xcalloc(1, sizeof(*m));
	m->room = r;
	m->sock = s;
	m->rnext = r->head;
	if (r->head != NULL)
		r->head->rprev = m;
	r->head = m;
	r->n++;
	m->snext = s->rooms;
	s->rooms = m;
}

void
sio_room_leave(struct sio_socket *s, int64_t room)
{
	struct sio_member **pp, *m;
	struct sio_room *r;

	for (pp = &s->rooms; (m = *pp) != NULL; pp = &m->snext)
		if (m->room->h.key == room)
			break;
	if (m == NULL)
		return;
	*pp = m->snext;
	r = m->room;
	if (m->rprev != NULL)
		m->rprev->rnext = m->rnext;
	else
		r->head = m->rnext;
	if (m->rnext != NULL)
		m->rnext->rprev = m->rprev;
	free(m);
	if (--r->n == 0) {
		htab_del(&s->nsp->rooms, &r->h);
		free(r);
	}
}

size_t
sio_room_count(struct sio_nsp *nsp, int64_t room)
{
	struct sio_room *r = (struct sio_room *)htab_get(&nsp->rooms, room);

	return r != NULL ? r->n : 0;
}

struct sio_msg *
sio_msg_event(struct sio_nsp *nsp, json_t *args)
{
	struct sio_packet p;
	struct sio_msg *m = xmalloc(sizeof(*m));
	size_t len;
	char *str;

	memset(&p, 0, sizeof(p));
	p.type = SIO_EVENT;
	p.ack = -1;
	strcpy(p.nsp, nsp->name);
	p.data = args;
	str = sio_packet_encode(&p, 0, &len);
	m->b = eio_msg_new(0, str, len);
	free(str);
	return m;
}

void
sio_msg_free(struct sio_msg *m)
{
	if (m == NULL)
		return;
	http_buf_unref(m->b);
	free(m);
}

void
sio_msg_send(struct sio_socket *s, struct sio_msg *m)
{
	eio_sess_send(s->client->sess, m->b);
}

void
sio_room_send(struct sio_nsp *nsp, int64_t room, struct sio_msg *m,
    const struct sio_socket *except)
{
	struct sio_room *r = (struct sio_room *)htab_get(&nsp->rooms, room);
	struct sio_member *mb;

	for (mb = r != NULL ? r->head : NULL; mb != NULL; mb = mb->rnext)
		if (mb->sock != except)
			eio_sess_send(mb->sock->client->sess, m->b);
}
