#[path = "../../../benches/src/query_bench.rs"]
mod query_bench;
use clap::Parser;
#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: query_bench::QueryArgs,
}
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    query_bench::run(Cli::parse().args).await
}
