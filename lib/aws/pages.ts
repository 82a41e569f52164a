/**
 * Every item of a paged Describe call (EC2, SSM): the call is made again with the NextToken the
 * last page answered, until a page answers none.
 */
export async function allPages<Page extends { NextToken?: string | undefined }, Item>(
  fetchPage: (token: string | undefined) => Promise<Page>,
  itemsOf: (page: Page) => readonly Item[] | undefined,
): Promise<Item[]> {
  const items: Item[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    items.push(...(itemsOf(page) ?? []));
    token = page.NextToken;
  } while (token);
  return items;
}
