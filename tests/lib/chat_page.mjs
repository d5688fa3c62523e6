// Driving the chat example's page (examples/chat/web) in a browser, for the tests of every
// chat server (C++, Node.js, Go).
//
//   const ada = await joinChat(browser, edge.url, 'ada');
//   await say(ada, 'hi');
//   await lineShown(bob, 'ada', 'hi');

/** A new tab (its own context: its own session) that opened the chat and joined as nick. */
export async function joinChat(browser, url, nick) {
  const page = await (await browser.newContext()).newPage();
  await page.goto(url + '/');
  await page.waitForSelector('#status.connected', { timeout: 10000 });
  await page.fill('#nick', nick);
  await page.press('#nick', 'Enter');
  await page.waitForSelector('#room:not([hidden])');
  return page;
}

export async function say(page, text) {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

/** Resolves once page lists a line by nick with text (rejects after 10 s). */
export function lineShown(page, nick, text) {
  return page.waitForFunction(([n, t]) => [...document.querySelectorAll('#messages li')].some(
    (li) => li.querySelector('.nick')?.textContent === n && li.querySelector('.text')?.textContent === t),
  [nick, text], { timeout: 10000 });
}
