/* SPDX-License-Identifier: ISC */
/*
 * Who is online, asked of the push daemon over the bus. The answer is a
 * hint for "is_online" fields: a missing, late or malformed reply means
 * every user is shown offline, never an error for the request. Ids travel
 * as decimal strings, as everywhere on the wire.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat/bus.h"
#include "chat/presence.h"
#include "common/log.h"

/* Longest decimal int64 plus sign and NUL. */
#define PRESENCE_ID_LEN 21

/*
 * Mark online[i] for every uids[i] listed in the reply's "online" array of
 * strings. A reply that is not {"online":[strings...]} changes nothing.
 * Strings are compared exactly with our own decimal form, so "02" or "+2"
 * match no one.
 */
static void
presence_reply_apply(
    const char *reply, const int64_t *uids, size_t n, int *online)
{
	json_t *root = NULL, *arr, *v;
	json_error_t jerr;
	char id[PRESENCE_ID_LEN];
	size_t i, k;

	root = json_loads(reply, JSON_REJECT_DUPLICATES, &jerr);
	arr = json_object_get(root, "online"); /* NULL unless an object */
	if (!json_is_array(arr)) {
		log_debug("%s: malformed reply ignored", __func__);
		goto out;
	}
	json_array_foreach(arr, k, v)
	{
		if (!json_is_string(v)) {
			log_debug("%s: malformed reply ignored", __func__);
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "%" PRId64, uids[i]);
		json_array_foreach(arr, k, v)
		{
			if (strcmp(json_string_value(v), id) == 0) {
				online[i] = 1;
				break;
			}
		}
	}
out:
	json_decref(root);
}

/*
 * Ask the daemon about "n" users and fill "online"; everything is 0 first,
 * so any failure (no bus, no daemon, timeout, bad reply) reads "offline".
 */
void
presence_online(
    struct bus *b, const int64_t *uids, size_t n, int *online, int timeout_ms)
{
	json_t *req = NULL, *users;
	char *s = NULL, *reply = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		online[i] = 0;
	if (b == NULL || n == 0)
		goto out;
	users = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(users, json_sprintf("%" PRId64, uids[i]));
	req = json_object();
	json_object_set_new(req, "type", json_string("online"));
	json_object_set_new(req, "users", users);
	if ((s = json_dumps(req, JSON_COMPACT)) == NULL) {
		log_warnx("%s: json_dumps failed", __func__);
		goto out;
	}
	if ((reply = bus_query(b, s, strlen(s), timeout_ms)) == NULL)
		goto out;
	presence_reply_apply(reply, uids, n, online);
out:
	free(reply);
	free(s);
	json_decref(req);
}
