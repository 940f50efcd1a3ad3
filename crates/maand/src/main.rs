fn main() {
    std::process::exit(maand::cli::main());
}
