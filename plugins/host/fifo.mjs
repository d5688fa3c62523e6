// A first-in first-out queue whose shift is O(1) at any length (Array.prototype.shift
// copies the whole array once it is large).
export class Fifo {
  #items = [];
  #head = 0;
  get length() {
    return this.#items.length - this.#head;
  }
  push(item) {
    this.#items.push(item);
  }
  shift() {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
  // The item at index i from the head.
  at(i) {
    return this.#items[this.#head + i];
  }
  // Items [from, to) counted from the head, as an array.
  slice(from, to) {
    return this.#items.slice(this.#head + from, this.#head + to);
  }
  clear() {
    const all = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return all;
  }
}
