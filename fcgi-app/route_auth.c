/* SPDX-License-Identifier: ISC */
/*
 * The authentication routes: signup, login/token (OAuth2 password form or
 * JSON) and users/me. Passwords are only handed to lib/chat/passwd and tokens
 * only to lib/chat/token; neither is ever logged or echoed back in an error.
 * Failed logins are limited per account and client address, and per
 * account for the addresses that never logged in to it, before any hash
 * is verified.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/db.h"
#include "chat/passwd.h"
#include "chat/reqval.h"
#include "chat/token.h"
#include "common/form.h"
#include "common/valid.h"
#include "common/xmalloc.h"
#include "req.h"
#include "route.h"

/*
 * Take one token from the per-address bucket (an IPv6 client's /64, see
 * valid_addr_key()) when conf.auth_addr_limit is on. Returns 0, or -1
 * with a 429 (or 5xx) response set.
 */
static int
route_auth_addr_limit(struct req *r)
{
	const struct conf *cf = &r->app->conf;
	char addr[VALID_ADDR_KEY_MAX], *key;
	enum chat_err e;

	if (!cf->auth_addr_limit)
		return 0;
	valid_addr_key(r->remote, addr);
	key = xasprintf("addr:%s", addr);
	e = req_rate_take(r, key, (double)cf->auth_burst, cf->auth_rate, 1);
	free(key);
	if (e != CHAT_OK && e != CHAT_ERR_RATE)
		req_fail(r, e);
	return e == CHAT_OK ? 0 : -1;
}

/*
 * CHAT_ERR_EXISTS when a user with login "login" exists, CHAT_OK when
 * none does, or the storage error.
 */
static enum chat_err
route_auth_taken(struct db *db, const char *login)
{
	struct db_user u;
	enum chat_err e;

	if ((e = db_user_by_login(db, login, &u)) == CHAT_OK) {
		db_user_finish(&u);
		return CHAT_ERR_EXISTS;
	}
	return e == CHAT_ERR_NOTFOUND ? CHAT_OK : e;
}

/*
 * POST /auth/signup: validate, refuse a taken e-mail (checked first) or
 * username with 400, each taken in any case (the lookups and the unique
 * columns ignore case), hash the password and answer 201 with the user.
 */
void
route_auth_signup(struct req *r)
{
	struct db *db = r->app->db;
	json_t *body = NULL, *errs = NULL;
	char hash[PASSWD_HASH_MAX], *email = NULL;
	const char *username, *password, *full_name;
	struct db_user u;
	enum chat_err e;
	int64_t id;

	if (route_auth_addr_limit(r) == -1 || req_json_object(r, &body) == -1)
		goto out;
	errs = json_array();
	reqval_signup(errs, body);
	if (json_array_size(errs) > 0) {
		req_invalid(r, errs);
		errs = NULL;
		goto out;
	}
	username = json_string_value(json_object_get(body, "username"));
	password = json_string_value(json_object_get(body, "password"));
	full_name = json_string_value(json_object_get(body, "full_name"));
	email = xstrdup(json_string_value(json_object_get(body, "email")));
	valid_lower(email);

	if ((e = route_auth_taken(db, email)) == CHAT_ERR_EXISTS)
		e = CHAT_ERR_EMAIL_TAKEN;
	else if (e == CHAT_OK &&
	    (e = route_auth_taken(db, username)) == CHAT_ERR_EXISTS)
		e = CHAT_ERR_USERNAME_TAKEN;
	if (e == CHAT_OK) {
		if (passwd_hash(password, strlen(password), hash) == -1)
			e = CHAT_ERR_DB;
		else
			e = db_user_insert(db, username, email, full_name, hash,
			    r->now_ms, &id);
	}
	if (e == CHAT_OK && (e = db_user_by_id(db, id, &u)) == CHAT_OK) {
		req_reply(r, 201, db_user_json(&u));
		db_user_finish(&u);
	} else if (e == CHAT_ERR_EMAIL_TAKEN || e == CHAT_ERR_EXISTS)
		req_error(r, 400, "Email already registered");
	else if (e == CHAT_ERR_USERNAME_TAKEN)
		req_error(r, 400, "Username already registered");
	else
		req_fail(r, e);
out:
	free(email);
	json_decref(errs);
	json_decref(body);
}

/*
 * Read the login and password of a login request into "*login" and
 * "*password" (borrowed from "f" or "*body", which the caller releases).
 * Returns 0, or -1 with a 422 response set.
 */
static int
route_auth_login_fields(struct req *r, struct form *f, json_t **body,
    const char **login, const char **password)
{
	json_t *errs = json_array();

	if (reqval_login(errs, r->ctype, r->body, r->bodylen, f, body, login,
	        password) == -1) {
		req_invalid(r, errs);
		return -1;
	}
	json_decref(errs);
	return 0;
}

/* The two failed-login buckets of one login: per address, per account. */
struct login_limit {
	char *pair;    /* "loginfail:<account>:<address>" */
	char *account; /* "loginfail:<account>" */
	double pair_burst, account_burst;
};

/*
 * Check the buckets of "l" before a password is verified: the pair of
 * account and address first, then the account's, which "user" (0 for an
 * unknown login) escapes from an address it logged in from before.
 * Returns 0, or -1 with a 429 (or 5xx) response set.
 */
static int
route_auth_login_check(
    struct req *r, const struct login_limit *l, int64_t user, const char *addr)
{
	struct db *db = r->app->db;
	double retry = 0;
	enum chat_err e;

	e = db_rate_take(db, l->pair, l->pair_burst, l->pair_burst / 60.0, 0,
	    r->now_ms, &retry);
	if (e == CHAT_OK) {
		e = db_rate_take(db, l->account, l->account_burst,
		    l->account_burst / 3600.0, 0, r->now_ms, &retry);
		if (e == CHAT_ERR_RATE && user != 0 &&
		    (e = db_login_addr_known(db, user, addr)) ==
		        CHAT_ERR_NOTFOUND)
			e = CHAT_ERR_RATE;
	}
	if (e == CHAT_ERR_RATE)
		req_rate_limited(r, retry);
	else if (e != CHAT_OK)
		req_fail(r, e);
	return e == CHAT_OK ? 0 : -1;
}

/*
 * Charge a failed login to both buckets of "l" in one transaction. A
 * bucket already empty stays so (the refusal writes nothing); the 401
 * stands whatever this returns.
 */
static void
route_auth_login_charge(struct req *r, const struct login_limit *l)
{
	struct db *db = r->app->db;
	double retry = 0;
	enum chat_err e;

	if (db_begin(db) != CHAT_OK)
		return;
	e = db_rate_take(db, l->pair, l->pair_burst, l->pair_burst / 60.0, 1,
	    r->now_ms, &retry);
	if (e == CHAT_OK || e == CHAT_ERR_RATE)
		e = db_rate_take(db, l->account, l->account_burst,
		    l->account_burst / 3600.0, 1, r->now_ms, &retry);
	if (e == CHAT_OK || e == CHAT_ERR_RATE)
		e = db_commit(db);
	if (e != CHAT_OK)
		db_rollback(db);
}

/*
 * POST /auth/login and /auth/token: the OAuth2 password flow. Failed
 * logins are counted in two buckets, both checked before verifying and
 * both charged on failure: "loginfail:<id>:<address>" (login_fail_max a
 * minute) and "loginfail:<id>" (login_fail_account_max an hour), where
 * the address is valid_addr_key()'s and an unknown user's account is its
 * lower-cased login. Past the second, only the addresses that logged in
 * to the account before pass; a success records its address. An unknown
 * user costs a dummy verification and gets the same 401.
 */
void
route_auth_login(struct req *r)
{
	const struct conf *cf = &r->app->conf;
	struct db *db = r->app->db;
	const char *login, *password;
	char hash[PASSWD_HASH_MAX], addr[VALID_ADDR_KEY_MAX], *tok = NULL;
	struct login_limit l = {NULL, NULL, (double)cf->login_fail_max,
	    (double)cf->login_fail_account_max};
	struct form f = {NULL, 0};
	json_t *body = NULL;
	struct db_user u;
	size_t i;
	int found = 0, have_addr;
	enum chat_err e;

	if (route_auth_addr_limit(r) == -1 ||
	    route_auth_login_fields(r, &f, &body, &login, &password) == -1)
		goto out;
	have_addr = valid_addr_key(r->remote, addr);
	if ((e = db_user_by_login(db, login, &u)) == CHAT_OK) {
		found = 1;
		l.account = xasprintf("loginfail:%lld", (long long)u.id);
	} else if (e == CHAT_ERR_NOTFOUND) {
		l.account = xasprintf("loginfail:%s", login);
		valid_lower(l.account);
	} else {
		req_fail(r, e);
		goto out;
	}
	l.pair = xasprintf("%s:%s", l.account, addr);
	if (route_auth_login_check(r, &l, found ? u.id : 0, addr) == -1)
		goto out;
	if (!passwd_verify(
	        found ? u.pass_hash : NULL, password, strlen(password))) {
		route_auth_login_charge(r, &l);
		req_unauthorized(r, "Incorrect email or password");
		goto out;
	}
	/*
	 * The login stands whatever these writes return. Without a client
	 * address nothing is recorded: every such client shares "-", which
	 * would let them all past the account's limit.
	 */
	if (db_begin(db) == CHAT_OK) {
		e = have_addr ? db_login_addr_add(db, u.id, addr, r->now_ms)
		              : CHAT_OK;
		if (e == CHAT_OK && passwd_needs_rehash(u.pass_hash) &&
		    passwd_hash(password, strlen(password), hash) == 0)
			e = db_user_set_hash(db, u.id, hash);
		if (e == CHAT_OK)
			e = db_commit(db);
		if (e != CHAT_OK)
			db_rollback(db);
	}
	if (token_issue(&r->app->key, u.id, r->now_ms / 1000,
	        cf->token_lifetime, &tok) == -1) {
		req_fail(r, CHAT_ERR_DB);
		goto out;
	}
	req_reply(r, 200,
	    json_pack("{s:s,s:s,s:I}", "access_token", tok, "token_type",
	        "bearer", "expires_in", (json_int_t)cf->token_lifetime));
out:
	if (found)
		db_user_finish(&u);
	if (tok != NULL)
		explicit_bzero(tok, strlen(tok));
	free(tok);
	free(l.pair);
	free(l.account);
	for (i = 0; i < f.n; i++)
		explicit_bzero(f.pairs[i].val, f.pairs[i].vallen);
	form_finish(&f);
	json_decref(body);
}

/* GET /auth/users/me: the caller. */
void
route_auth_me(struct req *r)
{
	req_reply(r, 200, db_user_json(&r->user));
}
