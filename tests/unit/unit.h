/* SPDX-License-Identifier: ISC */
/*
 * The end of every unit test's main(): run the Check suite "s" and turn
 * its failures into the exit status tests/run reads (with the TAP that
 * CK_TAP_LOG_FILE_NAME asks for). Header-only, so each test binary still
 * links just its layer's archive, libcommon.a and check.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdlib.h>

#include <check.h>

/* Run every test of "s", free it, and return EXIT_SUCCESS or _FAILURE. */
static inline int
unit_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int nfail;

	srunner_run_all(sr, CK_NORMAL);
	nfail = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfail == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
