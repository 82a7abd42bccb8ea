#include <cstdio>
int main() { std::puts("quantmix"); return 0; }
