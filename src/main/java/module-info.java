/**
 * The Learned Optimizer List for LibTorch from Java. Every package is API except {@code io.github.optlist.internal},
 * the optimizer's file formats, {@code io.github.optlist.torch.files}, the study database
 * {@code io.github.optlist.search.study} and the command line, {@code io.github.optlist.cli}, which this module does
 * not export (run it with
 * {@code -m io.github.optlist/io.github.optlist.cli.OptListCli}). The command line's and the plots' libraries are
 * optional ({@code static}): add picocli and progressbar to run the command line, XChart (which brings
 * {@code java.desktop}) for the search and reproduce plots. On the
 * module path, also resolve bytedeco's native modules of the platform, which nothing requires by name
 * ({@code --add-modules ALL-MODULE-PATH}, or {@code org.bytedeco.pytorch.linux.x86_64} and its kin).
 */
// progressbar is an automatic module (it has no module-info): requiring it by name is the only way.
@SuppressWarnings("requires-automatic")
module io.github.optlist {
    requires transitive org.bytedeco.pytorch;
    requires transitive org.bytedeco.javacpp;
    requires org.bytedeco.openblas;
    requires com.fasterxml.jackson.databind;
    requires com.fasterxml.jackson.dataformat.csv;
    // The study database (io.github.optlist.search.study, not exported): its JDBC drivers, sqlite-jdbc and pgjdbc,
    // are found by DriverManager as java.sql.Driver services, so no module requires them by name.
    requires java.sql;
    requires static java.desktop;
    requires static info.picocli;
    requires static me.tongfei.progressbar;
    requires static org.knowm.xchart;

    exports io.github.optlist;
    exports io.github.optlist.torch;
    exports io.github.optlist.distributed;
    exports io.github.optlist.search;
    exports io.github.optlist.search.tasks;
    exports io.github.optlist.reproduce;

    // Jackson reads and writes the files' records, some of them package-private; picocli fills the commands' fields.
    opens io.github.optlist to com.fasterxml.jackson.databind;
    opens io.github.optlist.torch to com.fasterxml.jackson.databind;
    opens io.github.optlist.torch.files to com.fasterxml.jackson.databind;
    opens io.github.optlist.search to com.fasterxml.jackson.databind;
    opens io.github.optlist.reproduce to com.fasterxml.jackson.databind;
    opens io.github.optlist.internal to com.fasterxml.jackson.databind;
    opens io.github.optlist.cli to info.picocli, com.fasterxml.jackson.databind;
}
