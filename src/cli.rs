//! Command line: one subcommand per job the binary does.
use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "modelarts-operator", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the CustomResourceDefinitions as YAML.
    Crds,
}

impl Cli {
    pub fn dispatch(self) -> ExitCode {
        match self.command {
            Command::Crds => {
                eprintln!("crds: not implemented yet");
                ExitCode::from(2)
            }
        }
    }
}
