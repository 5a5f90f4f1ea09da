/* engine/io/scan.c — white space, expected characters and quoted strings (scan.h). */
#include "scan.h"

#include <string.h> // strchr

void scan_ws(Scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\n' || *s->p == '\t' || *s->p == '\r')) s->p++;
}

bool scan_eat(Scan *s, char c)
{
    scan_ws(s);
    if (s->p < s->end && *s->p == c) { s->p++; return true; }
    return false;
}

bool scan_str(Scan *s, const char *quotes, char *out, size_t cap)
{
    scan_ws(s);
    if (s->p >= s->end || !*s->p || !strchr(quotes, *s->p)) { s->err = "expected a string"; return false; }
    char q = *s->p;
    size_t n = 0;
    for (s->p++; s->p < s->end && *s->p != q; s->p++) {
        char c = *s->p;
        if (c == '\\') {
            if (++s->p >= s->end) break;
            c = *s->p;
            if (c == 'u') { // \uXXXX: keep ASCII, replace the rest
                if (s->end - s->p < 5) { s->err = "bad \\u escape"; return false; }
                unsigned v = 0;
                for (int k = 1; k <= 4; k++) {
                    char h = s->p[k];
                    v = v * 16 + (unsigned)(h >= '0' && h <= '9' ? h - '0' : (h | 32) - 'a' + 10);
                }
                c = v < 128 ? (char)v : '?';
                s->p += 4;
            } else if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
        }
        if (n + 1 >= cap) { s->err = "string too long"; return false; }
        out[n++] = c;
    }
    if (s->p >= s->end) { s->err = "unterminated string"; return false; }
    s->p++;
    out[n] = 0;
    return true;
}
