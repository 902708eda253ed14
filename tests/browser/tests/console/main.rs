mod helpers;
mod operator;
