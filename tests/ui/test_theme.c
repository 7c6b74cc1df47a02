/* Themes: the bundled files load and are complete, default.yaml matches the
 * built-in default, user themes under $XDG_CONFIG_HOME are found (and win),
 * malformed files fail with PATH:line:column. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ui/theme.h"
#include "util/fileio.h"

static const char *const bundled[] = {"default", "light", "monochrome", "colorblind"};

Test(theme, bundled_themes_load_and_name_every_colour)
{
    for (size_t i = 0; i < sizeof bundled / sizeof *bundled; i++) {
        char path[256];
        snprintf(path, sizeof path, "themes/%s.yaml", bundled[i]);
        Theme t;
        Error err = {0};
        cr_assert_eq(themeLoad(path, &t, &err), 0, "%s", err.msg);
        cr_assert_str_eq(t.name, bundled[i]);
        cr_assert(t.n_gradient >= 2 && t.n_family >= 4, "%s", path);
        char *text;
        cr_assert_eq(fileReadAll(path, &text, NULL, &err), 0);
        for (int r = 0; r < ROLE_COUNT; r++) {
            char key[64];
            snprintf(key, sizeof key, "\n  %s:", themeRoleName((ThemeRole)r));
            cr_assert_not_null(strstr(text, key), "%s does not set %s", path, themeRoleName((ThemeRole)r));
        }
        free(text);
    }
}

Test(theme, default_file_equals_the_built_in_default)
{
    Theme file, builtin;
    Error err = {0};
    cr_assert_eq(themeLoad("themes/default.yaml", &file, &err), 0, "%s", err.msg);
    themeDefault(&builtin);
    for (int r = 0; r < ROLE_COUNT; r++)
        cr_assert_eq(file.role[r], builtin.role[r], "%s: %06x vs %06x", themeRoleName((ThemeRole)r), file.role[r],
                     builtin.role[r]);
    cr_assert_eq(file.n_family, builtin.n_family);
    cr_assert_eq(memcmp(file.family, builtin.family, sizeof file.family), 0);
    cr_assert_eq(file.n_gradient, builtin.n_gradient);
    cr_assert_eq(memcmp(file.gradient, builtin.gradient, sizeof file.gradient), 0);
}

Test(theme, gradient_and_family_colours)
{
    Theme t;
    themeDefault(&t);
    cr_assert_eq(themeGradient(&t, 0), t.gradient[0]);
    cr_assert_eq(themeGradient(&t, 1), t.gradient[t.n_gradient - 1]);
    cr_assert_eq(themeGradient(&t, -3), t.gradient[0]);
    cr_assert_eq(themeGradient(&t, 0.25), t.gradient[1], "stops are evenly spaced");
    t.n_gradient = 2;
    t.gradient[0] = RGB(0, 0, 0);
    t.gradient[1] = RGB(200, 100, 0);
    cr_assert_eq(themeGradient(&t, 0.5), RGB(100, 50, 0));
    cr_assert_eq(themeFamily(&t, t.n_family), t.family[0]);
}

static void writeFile(const char *path, const char *text)
{
    Error err = {0};
    cr_assert_eq(fileWriteAtomic(path, text, strlen(text), &err), 0, "%s", err.msg);
}

static void expectError(const char *text, const char *where, const char *what)
{
    char path[] = "/tmp/ffnscope-theme-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    cr_assert(fd >= 0);
    close(fd);
    writeFile(path, text);
    Theme t;
    Error err = {0};
    cr_assert_eq(themeLoad(path, &t, &err), -1, "accepted: %s", text);
    cr_assert_eq(err.code, EXIT_INPUT);
    char want[300];
    snprintf(want, sizeof want, "%s:%s", path, where);
    cr_assert(!strncmp(err.msg, want, strlen(want)), "'%s' does not start with '%s'", err.msg, want);
    cr_assert_not_null(strstr(err.msg, what), "'%s' lacks '%s'", err.msg, what);
    unlink(path);
}

Test(theme, malformed_files_name_line_and_column)
{
    expectError("name: x\ncolors:\n  txet: \"#ffffff\"\n", "3:3:", "unknown colour 'txet'");
    expectError("colors:\n  text: #ffffff\n", "2:8:", "not a colour");   /* an unquoted # starts a comment */
    expectError("colors:\n  text: \"#ff\"\n", "2:9:", "not a colour");
    expectError("gradient: [\"#000000\"]\n", "1:11:", "needs 2 to 16 colours");
    expectError("colours: {}\n", "1:1:", "unknown key 'colours'");
    expectError("- a\n- b\n", "1:1:", "a theme is a mapping");
    expectError("colors: [\n", "2:1:", "");
}

Test(theme, user_themes_from_xdg_config_home)
{
    char dir[] = "/tmp/ffnscope-xdg-XXXXXX";
    cr_assert_not_null(mkdtemp(dir));
    char themes[300], path[400];
    snprintf(themes, sizeof themes, "%s/ffnscope/themes", dir);
    Error err = {0};
    cr_assert_eq(makeDirs(themes, &err), 0);
    snprintf(path, sizeof path, "%s/mine.yaml", themes);
    writeFile(path, "colors:\n  text: \"#123456\"\n");
    snprintf(path, sizeof path, "%s/light.yaml", themes);
    writeFile(path, "name: my-light\ncolors:\n  background: \"#fefefe\"\n");
    setenv("XDG_CONFIG_HOME", dir, 1);

    char **names;
    int n = themeNames(&names);
    int mine = 0, dflt = 0, light = 0;
    for (int i = 0; i < n; i++) {
        mine += !strcmp(names[i], "mine");
        dflt += !strcmp(names[i], "default");
        light += !strcmp(names[i], "light");
        if (i) cr_assert(strcmp(names[i - 1], names[i]) < 0, "sorted and unique");
    }
    cr_assert(mine == 1 && dflt == 1 && light == 1);
    themeNamesFree(names, n);

    Theme t;
    cr_assert_eq(themeFind("mine", &t, &err), 0, "%s", err.msg);
    cr_assert_str_eq(t.name, "mine");
    cr_assert_eq(t.role[ROLE_TEXT], 0x123456);
    Theme d;
    themeDefault(&d);
    cr_assert_eq(t.role[ROLE_BACKGROUND], d.role[ROLE_BACKGROUND], "unset colours keep the default");
    cr_assert_eq(themeFind("light", &t, &err), 0);
    cr_assert_str_eq(t.name, "my-light", "the user's theme wins over the bundled one");
    cr_assert_eq(themeFind("colorblind", &t, &err), 0, "bundled themes are still there");
    cr_assert_eq(themeFind("nope", &t, &err), -1);
    cr_assert_not_null(strstr(err.msg, "theme 'nope' not found"));
    cr_assert_eq(themeFind("../etc/passwd", &t, &err), -1);
    unsetenv("XDG_CONFIG_HOME");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
