/* SPDX-License-Identifier: ISC */
/*
 * The sandbox for systems without libseccomp (or pledge): nothing is
 * confined beyond the dropped ids. The GNUmakefile picks this file only
 * when no real sandbox can be built, and the log says so at startup.
 */
#include "common/log.h"
#include "common/sandbox.h"

int
sandbox_enter(const char *name)
{
	log_info("%s: no sandbox on this system", name);
	return 0;
}

const char *
sandbox_name(void)
{
	return "none";
}
