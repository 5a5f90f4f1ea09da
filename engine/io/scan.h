/* engine/io/scan.h — the pieces every text header parser here shares (safetensors' JSON, .npy's
 * Python dict): skip white space, consume an expected character, read a quoted string. Each
 * format keeps its own grammar (which quotes, numbers, keys) in its own file; a parser records its
 * first error in err and stops.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stdbool.h> // bool
#include <stddef.h>  // size_t

typedef struct { const char *p, *end; const char *err; } Scan; // position, end, first error or NULL

// skips spaces, tabs and line ends
void scan_ws(Scan *s);
// consumes c (after white space) when it comes next; false, consuming nothing else, when not
bool scan_eat(Scan *s, char c);
// a string (after white space) opened by one of `quotes` and closed by the same character, into
// out (cap bytes with the NUL); escapes \" \' \\ \n \t and \uXXXX (ASCII kept, the rest '?').
// false with s->err when there is none, it is unterminated or longer than cap - 1
bool scan_str(Scan *s, const char *quotes, char *out, size_t cap);

#endif
