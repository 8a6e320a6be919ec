/* SPDX-License-Identifier: ISC */
/*
 * The one table of HTTP reason phrases, for every status line the service
 * writes: the workers' FastCGI "Status:" header (which nginx and lighttpd
 * turn into the client's status line) and the push daemon's own answers.
 * It only names codes; which code an answer gets is each caller's rule.
 */
#ifndef HTTP_STATUS_H
#define HTTP_STATUS_H

/*
 * The reason phrase of "status", e.g. "Unsupported Media Type" for 415:
 * the names of the IANA status code registry as lighttpd writes them, so
 * that an answer of the workers reads the same behind nginx (which passes
 * their phrase on) and lighttpd (which writes its own). That keeps RFC
 * 7231's "Payload Too Large" for 413 and RFC 4918's "Unprocessable Entity"
 * for 422, which RFC 9110 renamed "Content Too Large" and "Unprocessable
 * Content"; clients read the code, not the phrase. A code the table does
 * not know gets "" (a status line may have an empty phrase), never the
 * phrase of another code. The string is static.
 */
const char *http_status_text(int status);

#endif
