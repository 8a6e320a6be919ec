/* SPDX-License-Identifier: ISC */
/*
 * libFuzzer target for lib/common/form.c, built with clang -fsanitize=fuzzer
 * (plus address,undefined). Besides memory safety it checks the parser's
 * promises: at most FORM_PAIRS_MAX pairs, capped and NUL-free keys and
 * values, no duplicate keys, and an empty form after an error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct form f;
	size_t i, j;

	if (form_parse(&f, (const char *)data, size) != FORM_OK) {
		if (f.n != 0 || f.pairs != NULL)
			abort();
		return 0;
	}
	if (f.n > FORM_PAIRS_MAX)
		abort();
	for (i = 0; i < f.n; i++) {
		if (strlen(f.pairs[i].key) > FORM_KEY_MAX ||
		    strlen(f.pairs[i].val) != f.pairs[i].vallen ||
		    f.pairs[i].vallen > FORM_VALUE_MAX ||
		    form_get(&f, f.pairs[i].key) != f.pairs[i].val)
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(f.pairs[i].key, f.pairs[j].key) == 0)
				abort();
	}
	form_finish(&f);
	return 0;
}
