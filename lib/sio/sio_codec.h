/* SPDX-License-Identifier: ISC */
/*
 * The Socket.IO v5 packet format (socket.io-parser 4.x), text part:
 * "<type>[<attachments>-][<nsp>,][<ack id>][<json>]". Decoding validates
 * what the reference decoder validates and the CVE-2022-2421 and
 * CVE-2023-32695 shapes it once missed: attachment counts and placeholder
 * indexes in range, event names that are strings and not reserved, ack ids
 * that are safe integers. Pure apart from jansson and xmalloc.
 */
#ifndef SIO_CODEC_H
#define SIO_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

enum sio_type {
	SIO_CONNECT = 0,
	SIO_DISCONNECT,
	SIO_EVENT,
	SIO_ACK,
	SIO_CONNECT_ERROR,
	SIO_BINARY_EVENT,
	SIO_BINARY_ACK,
	SIO__MAX
};

#define SIO_ATTACH_MAX 10                 /* binary attachments per packet */
#define SIO_NSP_MAX    128                /* bytes of a namespace name */
#define SIO_ACK_MAX    9007199254740991LL /* 2^53 - 1, as in JavaScript */

struct sio_packet {
	int type;                  /* enum sio_type */
	int attachments;           /* binary packets: frames that follow */
	char nsp[SIO_NSP_MAX + 1]; /* "/" or "/name", NUL-terminated */
	int64_t ack;               /* ack id, or -1 */
	json_t *data;              /* new reference, or NULL when absent */
};

/*
 * Decode the "len" bytes at "s" into "p". Returns 0, or -1 when the packet
 * is malformed (unknown type, bad attachment count, namespace or ack id,
 * JSON that does not parse or does not fit the type, a placeholder out of
 * range); "p->data" is then NULL. Release with sio_packet_finish().
 */
int sio_packet_decode(struct sio_packet *p, const char *s, size_t len);

/* Release "p->data". */
void sio_packet_finish(struct sio_packet *p);

/*
 * Encode "p" as a new NUL-terminated string preceded by "reserve" bytes
 * the caller fills (an Engine.IO type, a frame header); "*len" gets the
 * length without the reserve. "p->data" may be NULL.
 */
char *sio_packet_encode(
    const struct sio_packet *p, size_t reserve, size_t *len);

#endif
