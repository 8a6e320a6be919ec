/* SPDX-License-Identifier: ISC */
/*
 * How REST reads who is online: a query to the push daemon, which owns that
 * state, over the bus with a short timeout. A daemon that is down or slow
 * means "offline", never a failed request.
 */
#ifndef PRESENCE_H
#define PRESENCE_H

#include <stddef.h>
#include <stdint.h>

struct bus;

/*
 * Set online[i] to 1 when user uids[i] has a connected socket, else 0.
 * Query {"type":"online","users":["1","2"]}; reply {"online":["2"]}.
 */
void presence_online(
    struct bus *b, const int64_t *uids, size_t n, int *online, int timeout_ms);

#endif
