/* HTML escaping and the model-card markdown renderer of the hub's web
 * pages: text from records can never become markup, and the supported
 * markdown subset renders as documented. Runs without a browser. */
#include <stdlib.h>
#include <string.h>
#include "hub/hub_internal.h"
#include "testutil.h"

/* The rendering of md (or, with escape_only, of bk_hub_html_escape). */
static char *render(const char *md, int escape_only)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    if (escape_only) bk_hub_html_escape(f, md);
    else bk_hub_markdown(f, md);
    fclose(f);
    return buf;
}

static int has(const char *hay, const char *needle)
{
    int ok = hay && strstr(hay, needle);
    if (!ok) fprintf(stderr, "  missing %s\n  in: %s\n", needle, hay ? hay : "(null)");
    return ok;
}

#define RENDERS(md, esc, needle) do { char *h_ = render(md, esc); CHECK(has(h_, needle)); free(h_); } while (0)
#define NEVER(md, needle) do { char *h_ = render(md, 0); CHECK(h_ && !strstr(h_, needle)); free(h_); } while (0)

int main(void)
{
    /* Escaping */
    RENDERS("<script>alert(\"x\")</script> & 'q'", 1, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;");
    char *e = render(NULL, 1);
    CHECK(e && !*e);
    free(e);

    /* Markdown subset */
    RENDERS("# Title\ntext", 0, "<h3>Title</h3>\n<p>text</p>");
    RENDERS("###### deep", 0, "<h6>deep</h6>");
    RENDERS("one\ntwo\n\nthree", 0, "<p>one\ntwo</p>\n<p>three</p>");
    RENDERS("- a\n- b `c<d`", 0, "<ul>\n<li>a</li>\n<li>b <code>c&lt;d</code></li>\n</ul>");
    RENDERS("1. first\n2. second", 0, "<ol>\n<li>first</li>\n<li>second</li>\n</ol>");
    RENDERS("```c\nint a<b;\n```", 0, "<pre><code>int a&lt;b;\n</code></pre>");
    RENDERS("```\nunclosed", 0, "<pre><code>unclosed\n</code></pre>");
    RENDERS("**bold** and [doc](https://ex.org/a?b=1&c=2)", 0,
            "<strong>bold</strong> and <a rel=\"nofollow\" href=\"https://ex.org/a?b=1&amp;c=2\">doc</a>");

    /* Nothing from a card becomes markup it did not ask for */
    NEVER("<img src=x onerror=alert(1)>", "<img");
    NEVER("[x](javascript:alert(1))", "href");
    NEVER("[x](data:text/html,<b>)", "href");
    NEVER("[x](https://a.org/\" onmouseover=\"alert(1))", "\" onmouseover");
    NEVER("# <script>", "<script>");
    NEVER("```\n</code></pre><script>\n```", "<script>");
    NEVER("**<b>**", "<b>");
    return bk_test_finish("test_hub_html");
}
