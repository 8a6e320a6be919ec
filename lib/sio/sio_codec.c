/* SPDX-License-Identifier: ISC */
/*
 * Socket.IO packet text codec, modelled on socket.io-parser's
 * decodeString/encodeAsString and isPayloadValid. Client bytes reach it
 * straight from the network: it must reject, never trust, every field.
 */
#include <stdio.h>
#include <string.h>

#include "common/xmalloc.h"
#include "sio/sio_codec.h"

/* Event names the server itself emits; a client may not send them. */
static const char *const sio_reserved[] = {"connect", "connect_error",
    "disconnect", "disconnecting", "newListener", "removeListener"};

/*
 * 1 when every placeholder object in "v" is {"_placeholder":true,"num":k}
 * with an integer k in [0, nattach). Recursion is bounded by jansson's
 * JSON_PARSER_MAX_DEPTH.
 */
static int
sio_placeholders_valid(const json_t *v, int nattach)
{
	const char *key;
	json_t *m, *num;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(
		    v, i, m) if (!sio_placeholders_valid(m, nattach)) return 0;
		return 1;
	}
	if (!json_is_object(v))
		return 1;
	if (json_is_true(json_object_get(v, "_placeholder"))) {
		num = json_object_get(v, "num");
		return json_is_integer(num) && json_integer_value(num) >= 0 &&
		    json_integer_value(num) < nattach;
	}
	json_object_foreach((json_t *)(uintptr_t)v, key,
	    m) if (!sio_placeholders_valid(m, nattach)) return 0;
	return 1;
}

/* 1 when "data" fits packet type "type" (socket.io-parser rules). */
static int
sio_payload_valid(int type, const json_t *data)
{
	const char *name;
	size_t i;

	switch (type) {
	case SIO_CONNECT:
		return data == NULL || json_is_object(data);
	case SIO_DISCONNECT:
		return data == NULL;
	case SIO_CONNECT_ERROR:
		return json_is_string(data) || json_is_object(data);
	case SIO_EVENT:
	case SIO_BINARY_EVENT:
		if (!json_is_array(data) || json_array_size(data) == 0 ||
		    !json_is_string(json_array_get(data, 0)))
			return 0;
		name = json_string_value(json_array_get(data, 0));
		for (i = 0; i < sizeof(sio_reserved) / sizeof(*sio_reserved);
		     i++)
			if (strcmp(name, sio_reserved[i]) == 0)
				return 0;
		return 1;
	default:
		return json_is_array(data);
	}
}

int
sio_packet_decode(struct sio_packet *p, const char *s, size_t len)
{
	size_t i = 1, start;
	int64_t v;
	json_error_t err;

	memset(p, 0, sizeof(*p));
	p->ack = -1;
	strcpy(p->nsp, "/");
	if (len == 0 || s[0] < '0' || s[0] >= '0' + SIO__MAX)
		return -1;
	p->type = s[0] - '0';
	if (p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK) {
		for (v = 0, start = i; i < len && s[i] >= '0' && s[i] <= '9';
		     i++)
			if ((v = v * 10 + (s[i] - '0')) > SIO_ATTACH_MAX)
				return -1;
		if (i == start || i == len || s[i] != '-')
			return -1;
		p->attachments = (int)v;
		i++;
	}
	if (i < len && s[i] == '/') {
		for (start = i; i < len && s[i] != ','; i++)
			;
		if (i - start > SIO_NSP_MAX)
			return -1;
		memcpy(p->nsp, s + start, i - start);
		p->nsp[i - start] = '\0';
		if (memchr(p->nsp, '\0', i - start) != NULL)
			return -1;
		if (i < len)
			i++; /* the comma */
	}
	if (i < len && s[i] >= '0' && s[i] <= '9') {
		for (v = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			if ((v = v * 10 + (s[i] - '0')) > SIO_ACK_MAX)
				return -1;
		p->ack = v;
	}
	if (i < len) {
		p->data = json_loadb(s + i, len - i,
		    JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &err);
		if (p->data == NULL)
			return -1;
	}
	if (!sio_payload_valid(p->type, p->data) ||
	    (p->data != NULL &&
	        !sio_placeholders_valid(p->data, p->attachments))) {
		sio_packet_finish(p);
		return -1;
	}
	return 0;
}

void
sio_packet_finish(struct sio_packet *p)
{
	json_decref(p->data);
	p->data = NULL;
}

char *
sio_packet_encode(const struct sio_packet *p, size_t reserve, size_t *len)
{
	char head[SIO_NSP_MAX + 64];
	size_t hl = 0, jl = 0;
	char *buf;
	int binary = p->type == SIO_BINARY_EVENT || p->type == SIO_BINARY_ACK;
	int custom = strcmp(p->nsp, "/") != 0;
	const size_t flags = JSON_COMPACT | JSON_ENCODE_ANY;

	hl = (size_t)snprintf(head, sizeof(head), "%d", p->type);
	if (binary)
		hl += (size_t)snprintf(
		    head + hl, sizeof(head) - hl, "%d-", p->attachments);
	if (custom)
		hl += (size_t)snprintf(
		    head + hl, sizeof(head) - hl, "%s,", p->nsp);
	if (p->ack >= 0)
		hl += (size_t)snprintf(
		    head + hl, sizeof(head) - hl, "%lld", (long long)p->ack);
	if (p->data != NULL)
		jl = json_dumpb(p->data, NULL, 0, flags);
	buf = xmalloc(reserve + hl + jl + 1);
	memcpy(buf + reserve, head, hl);
	if (jl > 0)
		json_dumpb(p->data, buf + reserve + hl, jl, flags);
	buf[reserve + hl + jl] = '\0';
	*len = hl + jl;
	return buf;
}
