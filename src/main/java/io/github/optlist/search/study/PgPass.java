package io.github.optlist.search.study;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The PostgreSQL password for a URL that has none, looked up as libpq (and so psycopg2, Optuna's driver) does: the
 * {@code PGPASSWORD} environment variable, else the first matching line of the password file ({@code PGPASSFILE},
 * else {@code ~/.pgpass}) of the form {@code hostname:port:database:username:password}, where {@code *} matches
 * anything and {@code \:} and {@code \\} stand for {@code :} and {@code \}; lines starting with {@code #} are
 * comments. libpq's check that the file is private to its owner is not repeated here.
 */
final class PgPass {

    private PgPass() {
    }

    /**
     * A password and where it came from, for messages ({@code the URL}, {@code PGPASSWORD}, the file's path).
     *
     * @param value  the password, or null when there is none
     * @param source where it came from, or {@code no password} when there is none
     */
    record Password(String value, String source) {
        @Override
        public String toString() {
            return "password from " + source;
        }
    }

    /** The password for {@code url}: its own, else from {@code environment} or the password file. */
    static Password password(StorageUrl url, Map<String, String> environment, Path home) {
        if (url.password() != null) {
            return new Password(url.password(), "the URL");
        }
        String fromEnvironment = environment.get("PGPASSWORD");
        if (fromEnvironment != null && !fromEnvironment.isEmpty()) {
            return new Password(fromEnvironment, "PGPASSWORD");
        }
        String fileName = environment.get("PGPASSFILE");
        Path file = fileName != null && !fileName.isEmpty() ? Path.of(fileName)
                : home == null ? null : home.resolve(".pgpass");
        Password none = new Password(null, "no password (none in the URL, PGPASSWORD or ~/.pgpass)");
        if (file == null || !Files.isRegularFile(file)) {
            return none;
        }
        try {
            String value = lookup(Files.readAllLines(file, StandardCharsets.UTF_8), url);
            return value == null ? none : new Password(value, file.toString());
        } catch (IOException e) {
            // libpq ignores a password file it cannot read; the server then says a password is missing.
            return none;
        }
    }

    /** The password of the first line of a password file that matches {@code url}, or null. */
    static String lookup(List<String> lines, StorageUrl url) {
        String[] wanted = {url.host(), Integer.toString(url.port()), url.database(), url.user()};
        for (String line : lines) {
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            List<String> fields = fields(line);
            if (fields.size() < 5) {
                continue;
            }
            boolean matches = true;
            for (int i = 0; i < wanted.length && matches; i++) {
                String field = fields.get(i);
                matches = field.equals("*") || field.equals(wanted[i]);
            }
            if (matches) {
                return fields.get(4);
            }
        }
        return null;
    }

    /** The colon-separated fields of {@code line}, with {@code \:} and {@code \\} unescaped. */
    private static List<String> fields(String line) {
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (c == '\\' && i + 1 < line.length()) {
                field.append(line.charAt(++i));
            } else if (c == ':' && fields.size() < 4) {
                fields.add(field.toString());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        fields.add(field.toString());
        return fields;
    }
}
