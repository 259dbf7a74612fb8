//! The `af-operator` binary: parses arguments, sets up logging, calls the library.
#![forbid(unsafe_code)]

#[tokio::main]
async fn main() {
    af_operator::logging::init();
    let cli = match af_operator::cli::config::parse(
        std::env::args_os().collect(),
        std::env::var_os("AF_CONFIG"),
    ) {
        Ok(cli) => cli,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let mut stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let mut io = af_operator::cli::Io {
        stdin: &mut stdin,
        stdout: &mut stdout,
        stderr: &mut stderr,
    };
    let code = af_operator::cli::run(cli, &mut io).await;
    std::process::exit(code);
}
