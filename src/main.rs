use clap::Parser;

fn main() -> std::process::ExitCode {
    modelarts_operator::cli::Cli::parse().dispatch()
}
