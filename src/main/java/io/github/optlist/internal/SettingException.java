package io.github.optlist.internal;

import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A refused setting of a search or reproduce run, e.g. {@code trainingSteps must be > 0, got 0}. It keeps which
 * setting it is about apart from the problem, so that a front end can name its own spelling of the setting: the
 * command line says {@code --steps must be > 0, got 0}.
 */
public final class SettingException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    private static final Pattern REFERENCE = Pattern.compile("\\{(\\w+)}");

    private final String setting;
    private final String problem;

    /**
     * A refusal of {@code setting} (its Java name, e.g. {@code trainingSteps}) because of {@code problem}, e.g.
     * {@code must be > 0, got 0}; other settings the problem mentions are written {@code {name}}, e.g.
     * {@code must be in [1, 5] from {start} 995}, so that they are renamed too.
     */
    public SettingException(String setting, String problem) {
        super(render(setting, problem, UnaryOperator.identity()));
        this.setting = setting;
        this.problem = problem;
    }

    /** The setting refused, by its Java name. */
    public String setting() {
        return setting;
    }

    /** The message with every setting named by {@code names} (which maps Java names to, e.g., option names). */
    public String message(UnaryOperator<String> names) {
        return render(setting, problem, names);
    }

    private static String render(String setting, String problem, UnaryOperator<String> names) {
        Matcher m = REFERENCE.matcher(problem);
        StringBuilder out = new StringBuilder(names.apply(setting)).append(' ');
        while (m.find()) {
            m.appendReplacement(out, Matcher.quoteReplacement(names.apply(m.group(1))));
        }
        return m.appendTail(out).toString();
    }
}
